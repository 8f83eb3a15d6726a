//! The report as one self-contained HTML page: no script, no external
//! resource, every text escaped. The QR code is an inline SVG.

use super::qr::{Modules, QUIET_ZONE};
use super::{Block, Document};

const STYLE: &str = "body{font-family:\"Noto Sans CJK SC\",\"WenQuanYi Micro Hei\",\"Microsoft YaHei\",sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#111;line-height:1.5}\
h1{font-size:1.6em;border-bottom:2px solid #333;padding-bottom:.3em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #bbb}\
table{border-collapse:collapse;width:100%;font-size:.9em}th,td{border:1px solid #ccc;padding:.35em .5em;text-align:left;vertical-align:top;white-space:pre-line;overflow-wrap:anywhere}\
th{background:#f2f2f2}table.fields th{width:14em}pre{background:#f5f5f5;border:1px solid #ddd;padding:.8em;white-space:pre-wrap;overflow-wrap:anywhere}\
.verdict{font-weight:bold;padding:.6em .8em;border-radius:4px}.pass{background:#e6f4ea;color:#0b5e23}.fail{background:#fdecea;color:#a11}\
.qr{display:flex;gap:1em;align-items:flex-start}.qr svg{flex:none;width:11em;height:11em}.qr table th{width:12em}";

/// Renders `doc` as a UTF-8 HTML page.
pub fn render(doc: &Document) -> String {
    let mut out = String::with_capacity(16 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!("<title>{}</title>\n", esc(&doc.title)));
    out.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n"));
    for block in &doc.blocks {
        block_html(&mut out, block);
    }
    out.push_str(&format!("<footer><p>{}</p></footer>\n", esc(&doc.footer)));
    out.push_str("</body>\n</html>\n");
    out
}

fn block_html(out: &mut String, block: &Block) {
    match block {
        Block::Title(t) => out.push_str(&format!("<h1>{}</h1>\n", esc(t))),
        Block::Heading(t) => out.push_str(&format!("<h2>{}</h2>\n", esc(t))),
        Block::Para(t) => out.push_str(&format!("<p>{}</p>\n", esc(t))),
        Block::Verdict { passed, text } => out.push_str(&format!(
            "<p class=\"verdict {}\">{}</p>\n",
            if *passed { "pass" } else { "fail" },
            esc(text)
        )),
        Block::Fields(rows) => {
            out.push_str("<table class=\"fields\">\n");
            for (k, v) in rows {
                out.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>\n", esc(k), esc(v)));
            }
            out.push_str("</table>\n");
        }
        Block::Table { head, rows, .. } => {
            out.push_str("<table>\n<thead><tr>");
            for h in head {
                out.push_str(&format!("<th>{}</th>", esc(h)));
            }
            out.push_str("</tr></thead>\n<tbody>\n");
            for row in rows {
                out.push_str("<tr>");
                for cell in row {
                    out.push_str(&format!("<td>{}</td>", esc(cell)));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody>\n</table>\n");
        }
        Block::Code(t) => out.push_str(&format!("<pre>{}</pre>\n", esc(t))),
        Block::Qr { link, modules, rows } => {
            out.push_str("<div class=\"qr\">\n");
            let code = svg(modules, link);
            if link.starts_with("https://") || link.starts_with("http://") {
                out.push_str(&format!("<a href=\"{}\">{code}</a>\n", esc(link)));
            } else {
                out.push_str(&code);
                out.push('\n');
            }
            block_html(out, &Block::Fields(rows.clone()));
            out.push_str("</div>\n");
        }
    }
}

/// The QR code as an inline SVG: one path of the dark runs, one unit per
/// module, on a white square that includes the quiet zone.
fn svg(modules: &Modules, link: &str) -> String {
    let side = modules.width() + 2 * QUIET_ZONE;
    let mut d = String::new();
    for (x, y, len) in modules.runs() {
        d.push_str(&format!("M{} {}h{len}v1h-{len}z", x + QUIET_ZONE, y + QUIET_ZONE));
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"{}\">\
         <rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{d}\"/></svg>",
        esc(&format!("QR: {link}"))
    )
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_is_escaped() {
        let doc = Document {
            title: "<t>".into(),
            footer: "&".into(),
            blocks: vec![
                Block::Para("<script>alert('x')</script>".into()),
                Block::Fields(vec![("\"k\"".into(), "<v>".into())]),
                Block::Table {
                    head: vec!["<h>".into()],
                    widths: vec![1.0],
                    rows: vec![vec!["王* <img src=x>".into()]],
                },
            ],
        };
        let html = render(&doc);
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<img"));
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(html.contains("王* &lt;img src=x&gt;"));
        assert!(html.contains("<title>&lt;t&gt;</title>"));
    }
}
