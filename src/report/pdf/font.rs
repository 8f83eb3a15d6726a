//! The report's embedded font: the glyphs a report uses, renumbered for a
//! subset, and the Type0/CIDFontType2 dictionaries, descriptor, widths and
//! ToUnicode CMap that embed it. Split from `pdf.rs`, which lays pages out.

use super::*;

/// The glyphs used, renumbered for the subset.
pub(super) struct Glyphs {
    pub(super) remapper: subsetter::GlyphRemapper,
    cid: BTreeMap<char, u16>,
}

impl Glyphs {
    pub(super) fn collect(face: &Face<'_>, pages: &[Vec<Op>]) -> Glyphs {
        let mut chars = BTreeSet::new();
        for op in pages.iter().flatten() {
            if let Op::Text { text, .. } = op {
                chars.extend(text.chars());
            }
        }
        let mut remapper = subsetter::GlyphRemapper::new();
        let mut cid = BTreeMap::new();
        for c in chars {
            let gid = face.glyph_index(c).map_or(0, |g| g.0);
            cid.insert(c, remapper.remap(gid));
        }
        Glyphs { remapper, cid }
    }

    pub(super) fn encode(&self, text: &str) -> Vec<u8> {
        text.chars().flat_map(|c| self.cid.get(&c).copied().unwrap_or(0).to_be_bytes()).collect()
    }
}

/// The Type0 font, its CIDFontType2 descendant, descriptor, subset file and
/// ToUnicode CMap, at `refs` in that order.
pub(super) fn write_font(
    pdf: &mut Pdf,
    face: &Face<'_>,
    glyphs: &Glyphs,
    subset: &[u8],
    refs: [Ref; 5],
) {
    let [type0, cid_font, descriptor, file, cmap] = refs;
    let scale = 1000.0 / f32::from(face.units_per_em());
    let base = base_font_name(face, glyphs);
    let base = Name(base.as_bytes());
    let system_info =
        SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };
    pdf.type0_font(type0)
        .base_font(base)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_font)
        .to_unicode(cmap);
    let widths: Vec<f32> = glyphs
        .remapper
        .remapped_gids()
        .map(|old| f32::from(face.glyph_hor_advance(GlyphId(old)).unwrap_or(0)) * scale)
        .collect();
    let mut cid = pdf.cid_font(cid_font);
    cid.subtype(CidFontType::Type2)
        .base_font(base)
        .system_info(system_info)
        .font_descriptor(descriptor)
        .default_width(1000.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    cid.widths().consecutive(0, widths);
    cid.finish();
    let bbox = face.global_bounding_box();
    let s = |v: i16| f32::from(v) * scale;
    pdf.font_descriptor(descriptor)
        .name(base)
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(s(bbox.x_min), s(bbox.y_min), s(bbox.x_max), s(bbox.y_max)))
        .italic_angle(0.0)
        .ascent(s(face.ascender()))
        .descent(s(face.descender()))
        .cap_height(s(face.capital_height().unwrap_or(face.ascender())))
        .stem_v(80.0)
        .font_file2(file);
    pdf.stream(file, subset).pair(Name(b"Length1"), subset.len() as i32);
    let mut unicode = UnicodeCmap::new(Name(b"Custom"), system_info);
    for (c, cid) in &glyphs.cid {
        if *cid != 0 {
            unicode.pair(*cid, *c);
        }
    }
    pdf.cmap(cmap, &unicode.finish());
}

/// `ABCDEF+PostScriptName`: the subset tag (PDF 32000-1 §9.6.4) derived from
/// the glyphs kept, so the same subset gets the same name.
pub(super) fn base_font_name(face: &Face<'_>, glyphs: &Glyphs) -> String {
    let ps = face
        .names()
        .into_iter()
        .find(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
        .and_then(|n| {
            // Mac Roman names are ASCII here; ttf-parser decodes only Unicode ones.
            n.to_string()
                .or_else(|| n.name.is_ascii().then(|| String::from_utf8_lossy(n.name).into_owned()))
        })
        .map(|s| s.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect::<String>())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "CJKFont".to_owned());
    let mut h: u32 = 2_166_136_261;
    for g in glyphs.remapper.remapped_gids() {
        for b in g.to_be_bytes() {
            h = (h ^ u32::from(b)).wrapping_mul(16_777_619);
        }
    }
    let tag: String = (0..6).map(|i| char::from(b'A' + ((h >> (i * 5)) % 26) as u8)).collect();
    format!("{tag}+{ps}")
}
