//! Text bounds: every message that echoes a value or a remote answer is cut here.

/// Digit runs longer than this are shortened in messages.
pub const MAX_SHOWN_DIGITS: usize = 12;

/// `text` cut to at most `max` characters (on a character boundary), marked with `…`.
pub fn cut_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => {
            let keep = text[..end].char_indices().last().map_or(0, |(i, _)| i);
            format!("{}…", &text[..keep])
        }
    }
}

/// Replaces every run of more than [`MAX_SHOWN_DIGITS`] digits by its first digits and its
/// length (`100000000000…(309 digits)`).
pub fn shorten_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(1024));
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() > MAX_SHOWN_DIGITS {
            out.push_str(&run[..MAX_SHOWN_DIGITS]);
            out.push_str(&format!("…({} digits)", run.len()));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}
