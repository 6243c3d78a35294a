//! What a hostile or broken endpoint cannot do: hang sprawl, fill its memory, send the
//! secret elsewhere, or put markup or the secret into a report.
