//! The evidence report for legal teams and courts: the verifier's findings
//! over a contract's bundle, laid out for a lawyer with Chinese and English
//! labels, rendered as HTML ([`html`]) or PDF ([`pdf`]).
//!
//! [`compose`] decides what the report says, once, as a list of [`Block`]s;
//! the renderers only lay them out, so the HTML and the PDF say the same.
//! Every string that came from the ledger is passed through
//! [`verifier::report::plain`] by the verifier or here, and escaped by the
//! HTML renderer.

pub mod html;
pub mod pdf;
pub mod qr;
mod words;

use serde_json::Value;
use verifier::report::{method_words, plain, CheckStatus, Report, TimelineEntry, VerdictStatus};

/// One unit of the report's layout.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// The document title.
    Title(String),
    /// A section heading.
    Heading(String),
    /// A paragraph.
    Para(String),
    /// The verdict, shown prominently.
    Verdict {
        /// Whether every check passed.
        passed: bool,
        /// The verdict in words.
        text: String,
    },
    /// Label / value rows.
    Fields(Vec<(String, String)>),
    /// A table; `widths` are relative column widths. Cells may hold `\n`.
    Table {
        /// Column headings.
        head: Vec<String>,
        /// Relative column widths, one per column.
        widths: Vec<f32>,
        /// The rows.
        rows: Vec<Vec<String>>,
    },
    /// A command or other text to copy exactly, in a box.
    Code(String),
    /// A QR code, with label / value rows beside it.
    Qr {
        /// What the code holds: the verifier link.
        link: String,
        /// The code's modules.
        modules: qr::Modules,
        /// Shown beside the code.
        rows: Vec<(String, String)>,
    },
}

/// A composed report.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// Title, also the PDF's and the HTML page's title.
    pub title: String,
    /// A short line for the PDF page footers.
    pub footer: String,
    /// The content.
    pub blocks: Vec<Block>,
}

/// What the report is about, besides the verifier's findings.
pub struct Issue<'a> {
    /// The verifier's report over the bundle.
    pub report: &'a Report,
    /// The log's verifier key (the report pins it).
    pub log_vkey: &'a str,
    /// The event id of the `report_issued` entry this report will have.
    pub report_id: &'a str,
    /// When it is issued, RFC 3339 UTC.
    pub issued_at: &'a str,
    /// Token id of the legal caller who requested it.
    pub requested_by: &'a str,
    /// Name under which the log attests reports, as an issuer.
    pub log_issuer: &'a str,
    /// The service's public base URL (`serve --public-url`), for the QR
    /// code's link; `None` prints the path alone.
    pub public_url: Option<&'a str>,
    /// What the service says of the newest RFC 4998 evidence record it
    /// keeps for the contract (docs/long-term.md), when there is one; its
    /// ledger-sourced parts already went through `plain`.
    pub evidence_record: Option<&'a str>,
}

/// The report's title.
pub const TITLE: &str = "电子合同存证报告 Evidence Report";

/// Composes the report.
pub fn compose(issue: &Issue<'_>) -> Document {
    let r = issue.report;
    let mut blocks = vec![
        Block::Title(TITLE.to_owned()),
        Block::Para(
            "本报告依据证据账本中的记录，重建本合同的证据链：每条记录均以默克尔包含证明对应到日志签名的检查点，并逐项独立校验。 \
             This report rebuilds the evidence chain of this contract from the entries of the evidence ledger: each entry is proven by a Merkle inclusion proof against a checkpoint signed by the log, and every fact is checked independently."
                .to_owned(),
        ),
        verdict(r),
        Block::Fields(summary(issue)),
    ];
    blocks.extend(scan_to_verify(issue));
    blocks.extend([
        Block::Heading("当事人 Parties".to_owned()),
        parties(r),
        Block::Heading("时间线 Timeline".to_owned()),
        timeline(r),
        Block::Heading("签署人的身份核验与意愿核验 Signers: identity and intent".to_owned()),
    ]);
    blocks.extend(signers(r));
    blocks.push(Block::Heading("锚定伙伴（见证方） Anchoring partners (witnesses)".to_owned()));
    blocks.push(witnesses(r));
    if !r.timestamps.is_empty() {
        blocks.push(Block::Heading("可信时间戳 Trusted timestamps (RFC 3161)".to_owned()));
        blocks.push(timestamps(r));
    }
    if let Some(line) = issue.evidence_record {
        blocks.push(Block::Heading("长期保存证据记录 Evidence record (RFC 4998)".to_owned()));
        blocks.push(Block::Para(line.to_owned()));
    }
    blocks.push(Block::Heading("校验明细 Checks".to_owned()));
    blocks.push(checks(r));
    blocks.push(Block::Heading("如何独立验证 How to verify independently".to_owned()));
    blocks.extend(how_to_verify(issue));
    blocks.push(Block::Heading("关于本报告 About this report".to_owned()));
    blocks.push(Block::Para(format!(
        "本报告文件的 SHA-256 由日志密钥签名（签发方 {issuer}），并作为 report_issued 事件（事件编号 {id}）写入日志，本报告本身亦成为证据；此后获取的本合同证据包均包含该记录。 \
         The SHA-256 of this file is signed with the log key (issuer {issuer}) and written to the log as a report_issued event (event id {id}), so the report is itself evidence; every bundle of this contract fetched from now on contains that entry. \
         The response that delivered this file carried the hash, the entry index and the signature in its X-Report-SHA256, X-Report-Entry-Index and X-Report-Signature headers.",
        issuer = issue.log_issuer,
        id = issue.report_id,
    )));
    Document {
        title: TITLE.to_owned(),
        footer: format!("{} · {} · {}", plain(&r.document_id), issue.report_id, issue.issued_at),
        blocks,
    }
}

fn verdict(r: &Report) -> Block {
    let total = r.checks.len();
    let failed = r.checks.iter().filter(|c| !c.passed).count();
    let zh = match r.verdict.status {
        VerdictStatus::Verified => format!("验证结果：通过。全部 {total} 项检查均通过。"),
        VerdictStatus::Failed => {
            format!("验证结果：未通过。{total} 项检查中有 {failed} 项未通过，见“校验明细”。")
        }
        VerdictStatus::NoTrustedLogKey => "验证结果：未通过。未提供可信的日志公钥。".to_owned(),
        VerdictStatus::QuorumNotMet => {
            "验证结果：未通过。日志签名有效，但可信见证方副署数量不足。".to_owned()
        }
        VerdictStatus::UntrustedTimestamps => {
            "验证结果：未通过。可信时间戳未链接到受信任的时间戳机构根证书。".to_owned()
        }
        VerdictStatus::ServerVouched => {
            "验证结果：未通过。这些记录确在日志中，但它们与此文件的关联只有服务器的说法。"
                .to_owned()
        }
    };
    let mut text = format!("{zh} Result: {}", r.verdict.summary);
    for reason in &r.verdict.reasons {
        text.push_str(&format!(" — {reason}"));
    }
    text.push_str(&format!(" (核验依据 Checked against: {})", r.trust.source));
    Block::Verdict { passed: r.passed, text }
}

fn summary(issue: &Issue<'_>) -> Vec<(String, String)> {
    let r = issue.report;
    let checkpoint = r.checkpoint.as_ref().map_or_else(
        || "无法读取 unreadable".to_owned(),
        |c| {
            format!(
                "日志共 {n} 条记录时的检查点 the checkpoint of the log at {n} entries; 根哈希 root {root}",
                n = c.tree_size,
                root = c.root
            )
        },
    );
    vec![
        ("报告编号 Report ID".into(), issue.report_id.to_owned()),
        ("出具时间 Issued at".into(), with_beijing(issue.issued_at)),
        ("申请人 Requested by".into(), format!("法务令牌 legal token {}", issue.requested_by)),
        ("合同编号 Contract ID".into(), plain(&r.document_id)),
        ("租户 Tenant".into(), plain(&r.tenant)),
        (
            "合同文件 SHA-256 Document SHA-256".into(),
            r.document_hash.clone().unwrap_or_else(|| "无法读取 unreadable".into()),
        ),
        ("日志 Log".into(), plain(&r.origin)),
        ("日志公钥 Log key".into(), issue.log_vkey.to_owned()),
        ("检查点 Checkpoint".into(), checkpoint),
    ]
}

/// The QR code to the public verifier page, with the log key's
/// fingerprint beside it; nothing when the document hash is unreadable.
fn scan_to_verify(issue: &Issue<'_>) -> Vec<Block> {
    let Some(hash) = issue.report.document_hash.as_deref() else { return Vec::new() };
    let link = qr::verify_link(issue.public_url, hash);
    let Some(modules) = qr::Modules::encode(&link) else { return Vec::new() };
    let key = qr::KeyFingerprint::of(issue.log_vkey);
    let mut rows = vec![("核验链接 Verification link".to_owned(), link.clone())];
    if issue.public_url.is_none() {
        rows.push((
            "说明 Note".to_owned(),
            "本服务未配置公开地址，链接只含路径：请在本证据账本服务的网址后打开。 This server has no public URL configured (serve --public-url), so the link holds the path alone: open it at the address of this evidence ledger service."
                .to_owned(),
        ));
    }
    if let Some(name_and_id) = key.name_and_id {
        rows.push((
            "日志密钥名称与密钥 ID Log key name and key ID".to_owned(),
            format!("{name_and_id}\n（即日志公钥 vkey 的开头 the start of the log vkey）"),
        ));
    }
    rows.push((
        "日志公钥指纹 Log key fingerprint".to_owned(),
        format!(
            "SHA-256 {}\n（日志公钥 vkey 文本的 SHA-256 前 128 位 the first 128 bits of the SHA-256 of the vkey text: printf %s VKEY | sha256sum）",
            key.sha256
        ),
    ));
    vec![
        Block::Heading("扫码核验 Scan to verify".to_owned()),
        Block::Para(
            "扫描二维码即打开公开验证页面，并填入本合同文件的 SHA-256，在日志中查询并在浏览器中核验。请先核对页面所用的日志公钥与下列指纹一致，且与法院信任的日志公钥一致。 \
             Scanning the code opens the public verifier page with this contract's document SHA-256 filled in, to look it up in the log and verify the answer in the browser. First check that the log key the page uses matches the fingerprint below, and the log key your court trusts."
                .to_owned(),
        ),
        Block::Qr { link, modules, rows },
    ]
}

fn parties(r: &Report) -> Block {
    let rows = r
        .parties
        .iter()
        .map(|p| {
            vec![
                plain(&p.display),
                plain(&p.id),
                if p.signed { "是 yes" } else { "否 no" }.to_owned(),
                p.commitment.clone(),
            ]
        })
        .collect();
    Block::Table {
        head: vec![
            "姓名（脱敏） Name (masked)".into(),
            "标识 ID".into(),
            "已签署 Signed".into(),
            "身份信息承诺值 Commitment to personal data".into(),
        ],
        widths: vec![1.3, 1.3, 0.9, 3.5],
        rows,
    }
}

fn timeline(r: &Report) -> Block {
    let rows = r
        .timeline
        .iter()
        .map(|t| {
            let attest: Vec<String> = t
                .attestations
                .iter()
                .map(|a| {
                    let (mark, v1) = words::attestation_words(a);
                    format!("{} [{mark}]{v1}", a.description)
                })
                .collect();
            if let Some(e) = &t.erased {
                // The record was erased (evidence v2): only its time and
                // its inclusion in the log remain.
                return vec![
                    t.index.to_string(),
                    with_beijing(&t.ledger_time),
                    "已删除 erased".into(),
                    "—".into(),
                    format!(
                        "记录已于 {} 由 {} 删除，理由：{}（仍可证明该条目在日志中）\nrecord erased on {}, by {}, reason {} (its inclusion in the log is still proven)",
                        with_beijing(&e.at),
                        plain(&e.by),
                        plain(&e.reason),
                        e.at,
                        plain(&e.by),
                        plain(&e.reason)
                    ),
                ];
            }
            let mut party = format!("{} ({})", plain(&t.actor_display), plain(&t.actor_id));
            if let Some(id) = &t.identity {
                // A court report names the person in full (legal and notary only).
                party.push_str(&format!(
                    "\n实名 Identity: {}，{} {}",
                    plain(&id.name),
                    plain(&id.id_type),
                    plain(&id.id_number)
                ));
                if let Some(p) = &id.phone {
                    party.push_str(&format!("，{}", plain(p)));
                }
            } else if let Some(note) = &t.identity_note {
                party.push_str(&format!("\n实名信息未包含或已删除 {note}"));
            }
            vec![
                t.index.to_string(),
                with_beijing(&t.ledger_time),
                format!("{} {}", kind_zh(&t.kind), t.kind),
                party,
                if attest.is_empty() { "无需 none needed".into() } else { attest.join("\n") },
            ]
        })
        .collect();
    Block::Table {
        head: vec![
            "序号 #".into(),
            "记录时间 Time".into(),
            "事件 Event".into(),
            "当事人 Party".into(),
            "证明 Attestations".into(),
        ],
        widths: vec![0.5, 1.9, 1.5, 1.2, 3.0],
        rows,
    }
}

/// Per signer: how identity and intent were established, by whom, when.
fn signers(r: &Report) -> Vec<Block> {
    let rows: Vec<Vec<String>> = r
        .parties
        .iter()
        .filter(|p| p.signed)
        .map(|p| {
            let of = |kind: &str| {
                let found: Vec<String> = r
                    .timeline
                    .iter()
                    .filter(|t| t.actor_id == p.id && t.kind == kind)
                    .map(step)
                    .collect();
                if found.is_empty() {
                    "无记录 none recorded".to_owned()
                } else {
                    found.join("\n")
                }
            };
            vec![
                format!("{} ({})", plain(&p.display), plain(&p.id)),
                of("identity_verified"),
                of("intent_verified"),
                of("signed"),
            ]
        })
        .collect();
    if rows.is_empty() {
        return vec![Block::Para(
            "本合同尚无签署记录。 No party has signed this contract yet.".to_owned(),
        )];
    }
    vec![Block::Table {
        head: vec![
            "签署人 Signer".into(),
            "身份核验 Identity check".into(),
            "意愿核验 Intent proof".into(),
            "签署 Signature".into(),
        ],
        widths: vec![1.0, 2.0, 2.0, 2.0],
        rows,
    }]
}

/// One identity, intent or signature step: method, result, who attested it, when.
fn step(t: &TimelineEntry) -> String {
    let mut lines = Vec::new();
    for a in &t.attestations {
        let field = |k: &str| a.claim.get(k).and_then(Value::as_str).map(plain);
        if let Some(m) = field("method") {
            let zh = method_zh(&m).map(|z| format!("{z} ")).unwrap_or_default();
            lines.push(format!("方式 method: {zh}{}", method_words(&m)));
        }
        if let Some(alg) = field("algorithm") {
            lines.push(format!("算法 algorithm: {alg}"));
        }
        if let Some(res) = field("result") {
            lines.push(format!("结果 result: {res}"));
        }
        let mark = words::attestation_words(a).0;
        let valid = if a.valid { String::new() } else { format!(" [{mark}]") };
        lines.push(format!("证明方 attested by: {}{valid}", plain(&a.issuer)));
    }
    lines.push(format!("时间 time: {} (#{})", t.ledger_time, t.index));
    lines.join("\n")
}

/// What a trusted timestamp covers, in both languages: the token over a
/// document hash dates the file, the token over an event dates the event,
/// the token over a checkpoint dates the log's state.
fn timestamp_covers(t: &verifier::report::TimestampFact) -> String {
    use verifier::report::TimestampCovers;
    let i = t.entry.map(|i| i.to_string()).unwrap_or_default();
    match t.covers {
        TimestampCovers::Document => format!("第 {i} 条记录所述的文件 the document of entry {i}"),
        TimestampCovers::Event => format!("第 {i} 条记录的事件本身 the event of entry {i}"),
        TimestampCovers::Checkpoint => {
            format!("日志状态（检查点） the log's state: {}", plain(&t.subject))
        }
    }
}

/// The trusted times vouched for by time-stamp authorities (verified ones only).
fn timestamps(r: &Report) -> Block {
    let rows = r
        .timestamps
        .iter()
        .map(|t| {
            let what = timestamp_covers(t);
            vec![what, plain(&t.tsa), with_beijing(&t.gen_time), plain(&t.serial)]
        })
        .collect();
    Block::Table {
        head: vec![
            "对象 What (existed no later than)".into(),
            "时间戳机构 TSA".into(),
            "时间 genTime".into(),
            "序列号 Serial".into(),
        ],
        widths: vec![1.6, 1.2, 1.6, 1.6],
        rows,
    }
}

fn witnesses(r: &Report) -> Block {
    if r.witnesses.is_empty() {
        return Block::Para(
            "本证据包的检查点尚无锚定伙伴。 The checkpoint of this bundle names no anchoring partner yet."
                .to_owned(),
        );
    }
    let rows = r
        .witnesses
        .iter()
        .map(|w| {
            let when = match (&w.cosigned_at, w.trusted) {
                (Some(t), _) => with_beijing(t),
                (None, true) => "未副署此检查点 has not countersigned this checkpoint".to_owned(),
                (None, false) => "证据包自述，未按信任策略核验 claimed by the bundle, not checked against the trust policy".to_owned(),
            };
            vec![plain(&w.name), when, plain(&w.vkey)]
        })
        .collect();
    Block::Table {
        head: vec![
            "锚定伙伴 Partner".into(),
            "副署时间 Countersigned at".into(),
            "公钥 Key".into(),
        ],
        widths: vec![1.5, 1.6, 3.0],
        rows,
    }
}

fn checks(r: &Report) -> Block {
    let rows = r
        .checks
        .iter()
        .map(|c| {
            vec![
                match c.status {
                    CheckStatus::Pass => "通过 PASS",
                    CheckStatus::Fail => "未通过 FAIL",
                    CheckStatus::Unanchored => "未锚定 UNANCHORED",
                }
                .to_owned(),
                format!("{} [{}]", c.title, c.id),
                c.detail.clone(),
            ]
        })
        .collect();
    Block::Table {
        head: vec!["结果 Result".into(), "检查 Check".into(), "说明 Detail".into()],
        widths: vec![0.9, 2.0, 4.0],
        rows,
    }
}

fn how_to_verify(issue: &Issue<'_>) -> Vec<Block> {
    let r = issue.report;
    let mut cmd = format!(
        "verifier verify bundle.json --document CONTRACT-FILE \\\n  --log-key '{}'",
        issue.log_vkey
    );
    for w in r.witnesses.iter().filter(|w| w.cosigned_at.is_some()) {
        cmd.push_str(&format!(" \\\n  --witness '{}'", plain(&w.vkey)));
    }
    vec![
        Block::Para(format!(
            "1. 获取证据包：本合同的法务或公证角色可下载证据包，保存为 bundle.json。 Get the evidence bundle (roles legal and notary) and save it as bundle.json: GET /v1/documents/{}/bundle",
            plain(&r.document_id)
        )),
        Block::Para(
            "2. 离线验证：使用开源验证程序，无需联网，只信任公钥。请自行从可信渠道核对日志公钥。 Verify offline with the open-source verifier, which needs no network and trusts only public keys; confirm the log key through a channel you trust:"
                .to_owned(),
        ),
        Block::Code(cmd),
        Block::Para(
            "3. 或将证据包提交至公开验证页面 /verify，或 POST /v1/verify。 Or use the public verifier page /verify, or POST the bundle to /v1/verify."
                .to_owned(),
        ),
    ]
}

/// An RFC 3339 UTC time, followed by the same instant in Beijing time.
pub fn with_beijing(utc: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    let Ok(t) = time::OffsetDateTime::parse(utc, &Rfc3339) else {
        return plain(utc);
    };
    let Ok(offset) = time::UtcOffset::from_hms(8, 0, 0) else {
        return plain(utc);
    };
    let b = t.to_offset(offset);
    format!(
        "{}\n北京时间 {:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        plain(utc),
        b.year(),
        u8::from(b.month()),
        b.day(),
        b.hour(),
        b.minute(),
        b.second()
    )
}

/// An event kind in Chinese.
pub fn kind_zh(kind: &str) -> &'static str {
    match kind {
        "registered" => "合同登记",
        "identity_verified" => "身份核验",
        "intent_verified" => "意愿核验",
        "signed" => "签署",
        "approved" => "审批通过",
        "rejected" => "拒绝",
        "revoked" => "撤销",
        "completed" => "签署完成",
        "archived" => "归档",
        "report_issued" => "出具存证报告",
        "registry_changed" => "签发方或令牌变更",
        "erased" => "应请求删除私有记录",
        _ => "事件",
    }
}

/// A verification method in Chinese, when it is a known one.
fn method_zh(method: &str) -> Option<&'static str> {
    Some(match method {
        "phone_3_factor" => "手机号三要素",
        "bank_card_4_factor" => "银行卡四要素",
        "face" | "face_recognition" => "人脸识别",
        "enterprise_4_factor" => "企业四要素",
        "sms_code" => "短信验证码",
        "face_liveness" => "人脸活体检测",
        "signing_password" => "签署密码",
        "dynamic_token" => "动态令牌",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_time_is_utc_plus_eight() {
        assert_eq!(
            with_beijing("2026-01-01T16:30:00.000001Z"),
            "2026-01-01T16:30:00.000001Z\n北京时间 2026-01-02 00:30:00"
        );
        assert_eq!(with_beijing("not a time"), "not a time");
    }

    #[test]
    fn kinds_and_methods_in_chinese() {
        assert_eq!(kind_zh("signed"), "签署");
        assert_eq!(kind_zh("report_issued"), "出具存证报告");
        assert_eq!(method_zh("sms_code"), Some("短信验证码"));
        assert_eq!(method_zh("other"), None);
    }
}
