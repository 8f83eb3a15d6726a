//! The report as a PDF: A4 pages laid out here, text in one embedded
//! TrueType CJK font, subsetted to the glyphs used.
//!
//! The font is a Type0 font over a CIDFontType2 (PDF 32000-1 §9.7) with
//! Identity-H encoding: the subsetter renumbers glyphs from 0 and keeps
//! CID = GID, so each character is written as its new glyph id, and a
//! ToUnicode CMap maps glyph ids back to text, which is what makes the PDF
//! searchable and `pdftotext` read it. The font is a system file (Debian's
//! fonts-wqy-microhei by default), found at [`DEFAULT_FONT`] or at the path
//! in [`FONT_ENV`]; it must have TrueType (`glyf`) outlines.
//!
//! The QR code is vector drawing: one filled path of a rectangle per run
//! of dark modules (no image).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use pdf_writer::types::{
    CidFontType, FontFlags, LineCapStyle, SystemInfo, TextRenderingMode, UnicodeCmap,
};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use ttf_parser::{Face, GlyphId};

use super::qr::{Modules, QUIET_ZONE};
use super::{Block, Document};
use font::{write_font, Glyphs};

mod font;

/// Where the report font is looked for unless [`FONT_ENV`] names another
/// file: WenQuanYi Micro Hei, Debian package `fonts-wqy-microhei`.
pub const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";
/// Environment variable naming another TrueType font (`.ttf`, or `.ttc`
/// whose first face is used) with CJK glyphs.
pub const FONT_ENV: &str = "EVIDENCE_LEDGER_REPORT_FONT";

/// Why a PDF could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The font file is missing or unreadable.
    #[error("report font {path}: {reason} (install Debian's fonts-wqy-microhei, or set {FONT_ENV} to a TrueType CJK font)")]
    Font {
        /// The file looked at.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The report font: raw file bytes (face 0 of a collection).
pub struct Font {
    path: String,
    data: Vec<u8>,
}

impl Font {
    /// Loads the font from [`FONT_ENV`] or [`DEFAULT_FONT`] and checks it
    /// can be embedded.
    pub fn load() -> Result<Font, PdfError> {
        let path = std::env::var_os(FONT_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_FONT));
        Font::from_path(&path.to_string_lossy())
    }

    /// Loads the font at `path`.
    pub fn from_path(path: &str) -> Result<Font, PdfError> {
        let err = |reason: String| PdfError::Font { path: path.to_owned(), reason };
        let data = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let face = Face::parse(&data, 0).map_err(|e| err(e.to_string()))?;
        if face.tables().glyf.is_none() {
            return Err(err("no TrueType (glyf) outlines".into()));
        }
        if face.glyph_index('签').is_none() {
            return Err(err("no Chinese glyphs".into()));
        }
        Ok(Font { path: path.to_owned(), data })
    }

    fn face(&self) -> Result<Face<'_>, PdfError> {
        Face::parse(&self.data, 0)
            .map_err(|e| PdfError::Font { path: self.path.clone(), reason: e.to_string() })
    }
}

/// Renders `doc` as a PDF with `font`.
pub fn render(doc: &Document, font: &Font) -> Result<Vec<u8>, PdfError> {
    let face = font.face()?;
    let metrics = Metrics::new(&face);
    let mut layout = Layout::new(&metrics);
    for block in &doc.blocks {
        layout.block(block);
    }
    let pages = layout.finish(&doc.footer);
    write(doc, font, &face, &pages)
}

// ---------------------------------------------------------------------------
// Layout: blocks to positioned text runs and rules, page by page.

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 50.0;
const TOP: f32 = PAGE_H - MARGIN;
const BOTTOM: f32 = MARGIN + 20.0;
const WIDTH: f32 = PAGE_W - 2.0 * MARGIN;
const BODY: f32 = 9.0;
const SMALL: f32 = 8.0;
const PAD: f32 = 3.5;
/// Side of a QR code with its quiet zone: ~42 mm, so that at version 7
/// (the verifier link) a module is ~0.8 mm and a phone reads it from paper.
const QR_SIDE: f32 = 120.0;

/// Text colour.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ink {
    Black,
    Gray,
    Green,
    Red,
}

impl Ink {
    fn rgb(self) -> (f32, f32, f32) {
        match self {
            Ink::Black => (0.07, 0.07, 0.07),
            Ink::Gray => (0.35, 0.35, 0.35),
            Ink::Green => (0.04, 0.37, 0.14),
            Ink::Red => (0.67, 0.07, 0.07),
        }
    }
}

/// What is drawn on a page.
#[derive(Clone, Debug, PartialEq)]
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        ink: Ink,
        text: String,
    },
    Rule {
        x: f32,
        y: f32,
        width: f32,
        weight: f32,
    },
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        gray: f32,
    },
    /// Dark module runs `(x, y, length)` of a QR code whose top-left module
    /// is at (`x`, `top`), `cell` points a module.
    Qr {
        x: f32,
        top: f32,
        cell: f32,
        runs: Vec<(usize, usize, usize)>,
    },
}

/// Glyph advances of the font, for measuring text.
struct Metrics<'f> {
    face: &'f Face<'f>,
    upem: f32,
}

impl<'f> Metrics<'f> {
    fn new(face: &'f Face<'f>) -> Metrics<'f> {
        Metrics { face, upem: f32::from(face.units_per_em()) }
    }

    fn advance(&self, c: char, size: f32) -> f32 {
        let gid = self.face.glyph_index(c).unwrap_or(GlyphId(0));
        f32::from(self.face.glyph_hor_advance(gid).unwrap_or(0)) / self.upem * size
    }

    fn width(&self, s: &str, size: f32) -> f32 {
        s.chars().map(|c| self.advance(c, size)).sum()
    }

    /// Breaks `text` into lines no wider than `max`: at `\n`, else after a
    /// space, slash or comma, or between CJK characters, else anywhere.
    fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for para in text.split('\n') {
            let mut line = String::new();
            let mut width = 0.0;
            let mut brk: Option<usize> = None;
            for c in para.chars() {
                let w = self.advance(c, size);
                if width + w > max && !line.is_empty() {
                    let cut = brk.filter(|&b| b > 0 && b < line.len()).unwrap_or(line.len());
                    let rest = line.split_off(cut);
                    lines.push(line.trim_end().to_owned());
                    line = rest.trim_start().to_owned();
                    width = self.width(&line, size);
                    brk = None;
                }
                line.push(c);
                width += w;
                if c == ' ' || c == '/' || c == ',' || c == '，' || c == '；' || is_cjk(c) {
                    brk = Some(line.len());
                }
            }
            lines.push(line);
        }
        lines
    }
}

fn is_cjk(c: char) -> bool {
    ('\u{2e80}'..='\u{9fff}').contains(&c) || ('\u{ff00}'..='\u{ffef}').contains(&c)
}

struct Layout<'m> {
    m: &'m Metrics<'m>,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl<'m> Layout<'m> {
    fn new(m: &'m Metrics<'m>) -> Layout<'m> {
        Layout { m, pages: vec![Vec::new()], y: TOP }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Starts a new page unless `h` points fit above the bottom margin.
    fn need(&mut self, h: f32) {
        if self.y - h < BOTTOM && self.y < TOP {
            self.new_page();
        }
    }

    fn text(&mut self, x: f32, size: f32, bold: bool, ink: Ink, text: String) {
        let y = self.y - size;
        self.ops().push(Op::Text { x, y, size, bold, ink, text });
    }

    /// Lines of one paragraph at `x`, moving down, breaking pages as needed.
    fn lines(&mut self, x: f32, max: f32, size: f32, bold: bool, ink: Ink, text: &str) {
        let lead = size * 1.45;
        for line in self.m.wrap(text, size, max) {
            self.need(lead);
            self.text(x, size, bold, ink, line);
            self.y -= lead;
        }
    }

    fn block(&mut self, block: &Block) {
        match block {
            Block::Title(t) => {
                self.lines(MARGIN, WIDTH, 18.0, true, Ink::Black, t);
                self.y -= 2.0;
                self.rule(1.2);
                self.y -= 8.0;
            }
            Block::Heading(t) => {
                self.y -= 10.0;
                self.need(60.0);
                self.lines(MARGIN, WIDTH, 12.0, true, Ink::Black, t);
                self.rule(0.6);
                self.y -= 5.0;
            }
            Block::Para(t) => {
                self.lines(MARGIN, WIDTH, BODY, false, Ink::Black, t);
                self.y -= 4.0;
            }
            Block::Verdict { passed, text } => {
                let ink = if *passed { Ink::Green } else { Ink::Red };
                self.y -= 2.0;
                self.lines(MARGIN, WIDTH, 11.0, true, ink, text);
                self.y -= 6.0;
            }
            Block::Fields(rows) => {
                let rows: Vec<Vec<String>> =
                    rows.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect();
                self.table(None, &[1.6, 4.4], &rows);
            }
            Block::Table { head, widths, rows } => self.table(Some(head), widths, rows),
            Block::Code(t) => self.code(t),
            Block::Qr { modules, rows, .. } => self.qr(modules, rows),
        }
    }

    /// A QR code at the left margin (with its quiet zone), its rows beside it.
    fn qr(&mut self, modules: &Modules, rows: &[(String, String)]) {
        self.need(QR_SIDE + 6.0);
        let (top, page) = (self.y, self.pages.len());
        let cell = QR_SIDE / (modules.width() + 2 * QUIET_ZONE) as f32;
        let inset = cell * QUIET_ZONE as f32;
        let runs = modules.runs();
        self.ops().push(Op::Qr { x: MARGIN + inset, top: top - inset, cell, runs });
        let x = MARGIN + QR_SIDE + 6.0;
        let max = WIDTH - QR_SIDE - 6.0;
        self.y -= inset;
        for (label, value) in rows {
            self.lines(x, max, SMALL, true, Ink::Gray, label);
            self.lines(x, max, SMALL, false, Ink::Black, value);
            self.y -= 3.0;
        }
        if self.pages.len() == page {
            self.y = self.y.min(top - QR_SIDE);
        }
        self.y -= 6.0;
    }

    fn rule(&mut self, weight: f32) {
        let y = self.y;
        self.ops().push(Op::Rule { x: MARGIN, y, width: WIDTH, weight });
    }

    fn code(&mut self, text: &str) {
        let lines = self.m.wrap(text, SMALL, WIDTH - 2.0 * 8.0);
        let lead = SMALL * 1.5;
        for line in lines {
            self.need(lead);
            let y = self.y;
            self.ops().push(Op::Fill { x: MARGIN, y: y - lead, w: WIDTH, h: lead, gray: 0.94 });
            self.y -= SMALL * 0.25;
            self.text(MARGIN + 8.0, SMALL, false, Ink::Black, line);
            self.y = y - lead;
        }
        self.y -= 6.0;
    }

    /// A table: each row's cells wrapped in their columns; a row that does
    /// not fit moves to the next page (header repeated), and a row taller
    /// than a page is split between lines.
    fn table(&mut self, head: Option<&Vec<String>>, widths: &[f32], rows: &[Vec<String>]) {
        let total: f32 = widths.iter().sum();
        let cols: Vec<f32> = widths.iter().map(|w| w / total * WIDTH).collect();
        if let Some(h) = head {
            self.need(60.0);
            self.row(&cols, h, SMALL, true);
            self.rule(0.8);
        }
        for r in rows {
            let height = self.row_height(&cols, r, SMALL);
            if self.y - height < BOTTOM && height < TOP - BOTTOM {
                self.new_page();
                if let Some(h) = head {
                    self.row(&cols, h, SMALL, true);
                    self.rule(0.8);
                }
            }
            self.row(&cols, r, SMALL, false);
            self.rule(0.3);
        }
        self.y -= 6.0;
    }

    fn wrap_cells(&self, cols: &[f32], cells: &[String], size: f32) -> Vec<Vec<String>> {
        cells.iter().zip(cols).map(|(c, w)| self.m.wrap(c, size, w - 2.0 * PAD)).collect()
    }

    fn row_height(&self, cols: &[f32], cells: &[String], size: f32) -> f32 {
        let n = self.wrap_cells(cols, cells, size).iter().map(Vec::len).max().unwrap_or(0);
        n as f32 * size * 1.45 + 2.0 * PAD
    }

    fn row(&mut self, cols: &[f32], cells: &[String], size: f32, bold: bool) {
        let wrapped = self.wrap_cells(cols, cells, size);
        let n = wrapped.iter().map(Vec::len).max().unwrap_or(0);
        let lead = size * 1.45;
        let ink = if bold { Ink::Gray } else { Ink::Black };
        self.y -= PAD;
        for i in 0..n {
            self.need(lead + PAD);
            let mut x = MARGIN;
            for (lines, w) in wrapped.iter().zip(cols) {
                if let Some(line) = lines.get(i) {
                    self.text(x + PAD, size, bold, ink, line.clone());
                }
                x += w;
            }
            self.y -= lead;
        }
        self.y -= PAD;
    }

    /// The pages, each with its footer.
    fn finish(mut self, footer: &str) -> Vec<Vec<Op>> {
        let n = self.pages.len();
        for (i, page) in self.pages.iter_mut().enumerate() {
            page.push(Op::Text {
                x: MARGIN,
                y: MARGIN,
                size: 7.0,
                bold: false,
                ink: Ink::Gray,
                text: format!("第 {} / {n} 页 Page {} of {n}   {footer}", i + 1, i + 1),
            });
        }
        self.pages
    }
}

// ---------------------------------------------------------------------------
// Writing: the font subset, its CMap, the page contents.

fn write(
    doc: &Document,
    font: &Font,
    face: &Face<'_>,
    pages: &[Vec<Op>],
) -> Result<Vec<u8>, PdfError> {
    let glyphs = Glyphs::collect(face, pages);
    let subset = subsetter::subset(&font.data, 0, &glyphs.remapper).map_err(|e| {
        PdfError::Font { path: font.path.clone(), reason: format!("subsetting: {e:?}") }
    })?;
    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let (catalog, tree, info) = (alloc(), alloc(), alloc());
    let (type0, cid_font, descriptor, file, cmap) = (alloc(), alloc(), alloc(), alloc(), alloc());
    let page_refs: Vec<(Ref, Ref)> = pages.iter().map(|_| (alloc(), alloc())).collect();

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(page_refs.iter().map(|(p, _)| *p)).count(page_refs.len() as i32);
    pdf.document_info(info).title(TextStr(&doc.title)).producer(TextStr("evidence-ledger"));
    let font_name = Name(b"F1");
    for ((page_ref, content_ref), ops) in page_refs.iter().zip(pages) {
        let mut page = pdf.page(*page_ref);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree);
        page.contents(*content_ref);
        page.resources().fonts().pair(font_name, type0);
        page.finish();
        let content = page_content(ops, &glyphs, font_name);
        pdf.stream(*content_ref, &content);
    }
    write_font(&mut pdf, face, &glyphs, &subset, [type0, cid_font, descriptor, file, cmap]);
    Ok(pdf.finish())
}

fn page_content(ops: &[Op], glyphs: &Glyphs, font: Name<'_>) -> Vec<u8> {
    let mut c = Content::new();
    c.set_line_cap(LineCapStyle::ButtCap);
    for op in ops {
        match op {
            Op::Text { x, y, size, bold, ink, text } => {
                let (r, g, b) = ink.rgb();
                c.set_fill_rgb(r, g, b);
                c.set_stroke_rgb(r, g, b);
                c.begin_text();
                c.set_font(font, *size);
                if *bold {
                    // The CJK font has no bold face: stroke the outlines too.
                    c.set_line_width(size * 0.035);
                    c.set_text_rendering_mode(TextRenderingMode::FillStroke);
                } else {
                    c.set_text_rendering_mode(TextRenderingMode::Fill);
                }
                c.next_line(*x, *y);
                c.show(Str(&glyphs.encode(text)));
                c.end_text();
            }
            Op::Rule { x, y, width, weight } => {
                c.set_stroke_gray(0.55);
                c.set_line_width(*weight);
                c.move_to(*x, *y);
                c.line_to(x + width, *y);
                c.stroke();
            }
            Op::Fill { x, y, w, h, gray } => {
                c.set_fill_gray(*gray);
                c.rect(*x, *y, *w, *h);
                c.fill_nonzero();
            }
            Op::Qr { x, top, cell, runs } => {
                c.set_fill_gray(0.0);
                for &(rx, ry, len) in runs {
                    let y = top - (ry + 1) as f32 * cell;
                    c.rect(x + rx as f32 * cell, y, len as f32 * cell, *cell);
                }
                c.fill_nonzero();
            }
        }
    }
    c.finish().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn font() -> Option<Font> {
        // Skipped where the font package is not installed; the end-to-end
        // tests require it.
        Font::load().ok()
    }

    #[test]
    fn wraps_latin_at_spaces_and_cjk_anywhere() {
        let Some(font) = font() else { return };
        let face = font.face().expect("face");
        let m = Metrics::new(&face);
        let lines = m.wrap("alpha beta gamma delta", 10.0, m.width("gamma delta", 10.0) + 1.0);
        assert_eq!(lines, vec!["alpha beta", "gamma delta"]);
        let lines = m.wrap("签署签署签署", 10.0, m.width("签署签", 10.0) + 0.5);
        assert_eq!(lines, vec!["签署签", "署签署"]);
        assert_eq!(m.wrap("a\nb", 10.0, 100.0), vec!["a", "b"]);
    }

    #[test]
    fn renders_a_pdf() {
        let Some(font) = font() else { return };
        let doc = Document {
            title: "报告 Report".into(),
            footer: "f".into(),
            blocks: vec![
                Block::Title("电子合同存证报告".into()),
                Block::Table {
                    head: vec!["a".into(), "b".into()],
                    widths: vec![1.0, 1.0],
                    rows: vec![vec!["王*".into(), "x ".repeat(2000)]; 3],
                },
            ],
        };
        let pdf = render(&doc, &font).expect("pdf");
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.len() < 400_000, "subsetted: {} bytes", pdf.len());
    }

    #[test]
    fn missing_font_is_a_clear_error() {
        let e = Font::from_path("/nonexistent/font.ttc").err().expect("error");
        let msg = e.to_string();
        assert!(msg.contains("/nonexistent/font.ttc") && msg.contains(FONT_ENV), "{msg}");
    }
}
