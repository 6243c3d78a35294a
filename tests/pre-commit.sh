#!/usr/bin/env bash
# End-to-end check of .pre-commit-hooks.yaml through the real pre-commit framework:
# pre-commit (from PyPI, in a throwaway virtualenv) builds sprawl from this repository with
# `cargo install` and runs the `sprawl` hook in a scratch repository, where it must refuse a
# staged fake GitHub token and accept a staged file without one.
#
#   bash tests/pre-commit.sh        # a few minutes: pre-commit builds sprawl in release twice
#
# Needs git, python3 with venv (Debian: python3-venv), a Rust toolchain (`cargo` on PATH) and
# network access to PyPI and crates.io. PRE_COMMIT_SPEC overrides the pip requirement.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/sprawl-pre-commit.XXXXXX")"
trap 'rm -rf "$work"' EXIT
start=$SECONDS

step() { printf '\n== %s (%ds)\n' "$*" "$((SECONDS - start))"; }
pass() { printf 'PASS: %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

# Git settings of the machine (signing, templates, hooks paths) stay out of the scratch repos.
git_() { git -c commit.gpgsign=false -c core.hooksPath=.git/hooks -c init.templateDir= "$@"; }

step "toolchain"
# pre-commit uses the machine's cargo when `cargo --version` works (its `system` version) and
# runs `cargo install` with CARGO_HOME set to the hook's own environment; a rustup proxy still
# needs to find its toolchains, so RUSTUP_HOME is made explicit (it defaults to ~/.rustup).
cargo --version >/dev/null 2>&1 || fail "cargo not found: pre-commit would install its own Rust toolchain; install rustup stable"
if [ -z "${RUSTUP_HOME:-}" ] && command -v rustup >/dev/null 2>&1; then
    RUSTUP_HOME="$(rustup show home)"
    export RUSTUP_HOME
fi
# The environment must not point cargo somewhere else: CARGO_TARGET_DIR would make both
# installs share (and leave behind) one target folder.
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR
cargo --version
git --version

step "pre-commit from PyPI in a virtualenv"
python3 -m venv "$work/venv" || fail "python3 -m venv failed (on Debian: apt-get install python3-venv)"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check "${PRE_COMMIT_SPEC:-pre-commit>=3.2}"
pre_commit="$work/venv/bin/pre-commit"
"$pre_commit" --version
export PRE_COMMIT_HOME="$work/pre-commit-home"

step "the hook repository: this checkout as git would ship it"
# try-repo takes a repository's HEAD plus changes to tracked files, but not new untracked ones
# (a new .pre-commit-hooks.yaml would be missing). So commit what `git ls-files` sees (tracked
# and untracked, minus what .gitignore excludes: no target/) into a fresh repository; in CI,
# on a fresh clone, that is exactly HEAD.
hooks_repo="$work/sprawl"
mkdir "$hooks_repo"
(
    cd "$root"
    git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' file; do
            if [ -f "$file" ] || [ -L "$file" ]; then
                mkdir -p "$hooks_repo/$(dirname "$file")"
                cp -P "$file" "$hooks_repo/$file"
            fi
        done
)
[ -f "$hooks_repo/.pre-commit-hooks.yaml" ] || fail ".pre-commit-hooks.yaml is not in the hook repository"
git_ -C "$hooks_repo" init -q -b main
git_ -C "$hooks_repo" add -A
git_ -C "$hooks_repo" -c user.name="sprawl test" -c user.email=test@sprawl.invalid \
    commit -q -m "snapshot of the sprawl checkout"
echo "$(git -C "$hooks_repo" ls-files | wc -l) files at $(git -C "$hooks_repo" rev-parse --short HEAD)"

step "a scratch repository"
repo="$work/project"
mkdir "$repo"
git_ -C "$repo" init -q -b main
git -C "$repo" config user.name "Pat Example"
git -C "$repo" config user.email "pat@example.invalid"
git -C "$repo" config commit.gpgsign false
printf '# project\n' >"$repo/README.md"
git -C "$repo" add README.md
git_ -C "$repo" commit -q -m "initial commit"

# A fake classic GitHub token with a valid checksum: ghp_ + 30 random base62 characters + the
# CRC32 of those 30 in base62, zero-padded to 6 (what sprawl's crc32-base62 validator checks).
token="$(python3 - <<'EOF'
import secrets, zlib
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
body = "".join(secrets.choice(B62) for _ in range(30))
n, check = zlib.crc32(body.encode()), ""
while n:
    n, r = divmod(n, 62)
    check = B62[r] + check
print("ghp_" + body + check.rjust(6, "0"))
EOF
)"
[ ${#token} -eq 40 ] || fail "generated token has ${#token} characters, expected 40"

# Runs the hook from the hook repository on what is staged in the scratch repository; leaves
# the output in $log and the exit status in $status.
try_repo() {
    log="$work/$1.log"
    set +e
    (cd "$repo" && "$pre_commit" try-repo "$hooks_repo" sprawl --verbose --color never) >"$log" 2>&1
    status=$?
    set -e
    sed 's/^/    | /' "$log"
}

step "a staged file with a fake token: the hook must fail (pre-commit builds sprawl first)"
printf 'API_URL=https://api.example.invalid\nGITHUB_TOKEN=%s\n' "$token" >"$repo/settings.env"
git -C "$repo" add settings.env
try_repo with-token
[ "$status" -ne 0 ] || fail "pre-commit try-repo exited 0 on a staged GitHub token"
grep -q 'github-pat-classic' "$log" || fail "the hook's output does not name the rule github-pat-classic"
grep -q 'settings.env:2:' "$log" || fail "the hook's output does not point at settings.env:2"
grep -q '^sprawl: ' "$log" || fail "the hook's output has no 'sprawl: ' summary line"
if grep -qF "$token" "$log"; then fail "the hook's output shows the token in clear"; fi
pass "staged token refused (exit $status), reported as github-pat-classic at settings.env:2, redacted"

step "a staged file without a secret: the hook must pass"
git -C "$repo" rm -q --cached settings.env
rm "$repo/settings.env"
# A placeholder, literally `${GITHUB_TOKEN}`: sprawl must not take it for a credential.
# shellcheck disable=SC2016
printf 'API_URL=https://api.example.invalid\nGITHUB_TOKEN=${GITHUB_TOKEN}\n' >"$repo/settings.env"
git -C "$repo" add settings.env
try_repo clean
[ "$status" -eq 0 ] || fail "pre-commit try-repo exited $status on a staged file without a secret"
grep -q '^sprawl.*Passed' "$log" || fail "pre-commit did not report the sprawl hook as Passed"
pass "clean staged file accepted (exit 0)"

step "done"
pass "pre-commit hook 'sprawl' works (${SECONDS}s in all)"
