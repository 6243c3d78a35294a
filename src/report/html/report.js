// sprawl HTML report: filters (status, owner, provider, path), sorting, and the filter in
// the address's #fragment so a view can be shared. Reads only the page; fetches nothing.
(function () {
  "use strict";
  var controls = {
    status: document.getElementById("f-status"),
    owner: document.getElementById("f-owner"),
    provider: document.getElementById("f-provider"),
    path: document.getElementById("f-path")
  };
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.cred"));
  var groups = Array.prototype.slice.call(document.querySelectorAll("section.group"));
  var shown = document.getElementById("shown");

  function matches(row) {
    var status = controls.status.value, owner = controls.owner.value;
    var provider = controls.provider.value, path = controls.path.value.trim().toLowerCase();
    if (status && (" " + row.dataset.statuses + " ").indexOf(" " + status + " ") < 0) return false;
    if (owner && row.dataset.owner !== owner) return false;
    if (provider && row.dataset.provider !== provider) return false;
    if (path && row.dataset.paths.toLowerCase().indexOf(path) < 0) return false;
    return true;
  }

  function apply() {
    var visible = 0;
    rows.forEach(function (row) {
      var ok = matches(row);
      row.hidden = !ok;
      if (ok) visible += 1;
    });
    groups.forEach(function (group) {
      group.hidden = !group.querySelector("tr.cred:not([hidden])");
    });
    shown.textContent = "Showing " + visible + " of " + rows.length + " credentials";
    var parts = [];
    Object.keys(controls).forEach(function (key) {
      var value = controls[key].value;
      if (value) parts.push(key + "=" + encodeURIComponent(value));
    });
    var hash = parts.length ? "#" + parts.join("&") : "";
    if (window.location.hash !== hash && window.history && window.history.replaceState) {
      try { window.history.replaceState(null, "", hash || window.location.pathname); } catch (e) { /* file: URLs in some browsers */ }
    }
  }

  function fromHash() {
    window.location.hash.replace(/^#/, "").split("&").forEach(function (pair) {
      var at = pair.indexOf("=");
      if (at < 0) return;
      var key = pair.slice(0, at), value;
      try { value = decodeURIComponent(pair.slice(at + 1)); } catch (e) { return; }
      var control = controls[key];
      if (!control) return;
      if (control.tagName === "SELECT" &&
          !Array.prototype.some.call(control.options, function (o) { return o.value === value; })) return;
      control.value = value;
    });
  }

  function sortBy(th) {
    var table = th.closest("table"), body = table.tBodies[0], key = th.dataset.sort;
    var descending = th.dataset.dir !== "desc";
    Array.prototype.forEach.call(table.querySelectorAll("th[data-sort]"), function (h) { delete h.dataset.dir; });
    th.dataset.dir = descending ? "desc" : "asc";
    var numeric = th.dataset.type === "number";
    var sorted = Array.prototype.slice.call(body.rows).sort(function (a, b) {
      var x = a.dataset[key] || "", y = b.dataset[key] || "";
      var order = numeric ? (Number(x) - Number(y)) : x.localeCompare(y);
      return descending ? -order : order;
    });
    sorted.forEach(function (row) { body.appendChild(row); });
  }

  Object.keys(controls).forEach(function (key) {
    controls[key].addEventListener(key === "path" ? "input" : "change", apply);
  });
  Array.prototype.forEach.call(document.querySelectorAll("th[data-sort]"), function (th) {
    th.addEventListener("click", function () { sortBy(th); });
  });
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = true; });
  });
  fromHash();
  apply();
  document.documentElement.dataset.ready = "1";
})();
