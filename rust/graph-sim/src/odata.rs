//! OData pieces: query options (`$filter`, `$select`, `$top`, `$count`, `$skiptoken`), the small
//! `$filter` language the simulator understands, opaque skip tokens, and Graph's error body.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};

use crate::clock;
use crate::tenant::{Property, User};

/// A Graph error before it is given request ids: status, `error.code`, `error.message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl GraphError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        GraphError { status, code, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        GraphError::new(400, "BadRequest", message)
    }

    pub fn request_bad_request(message: impl Into<String>) -> Self {
        GraphError::new(400, "Request_BadRequest", message)
    }

    pub fn unsupported_query(message: impl Into<String>) -> Self {
        GraphError::new(400, "Request_UnsupportedQuery", message)
    }

    pub fn not_found(resource: &str) -> Self {
        GraphError::new(
            404,
            "Request_ResourceNotFound",
            format!("Resource '{resource}' does not exist or one of its queried reference-property objects are not present."),
        )
    }

    pub fn insufficient_privileges() -> Self {
        GraphError::new(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    }

    pub fn access_denied() -> Self {
        GraphError::new(403, "accessDenied", "Request Authorization failed")
    }

    pub fn segment_not_found(segment: &str) -> Self {
        GraphError::bad_request(format!("Resource not found for the segment '{segment}'."))
    }

    pub fn method_not_allowed() -> Self {
        GraphError::new(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
    }
}

/// Graph's error body: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.
pub fn error_body(code: &str, message: &str, request_id: &str, client_request_id: &str) -> Value {
    json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": clock::inner_error_date(clock::unix_now()),
                "request-id": request_id,
                "client-request-id": client_request_id,
            }
        }
    })
}

/// Decodes one query-string component: `%XX` as UTF-8 and `+` as a space.
pub fn decode_component(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// The system query options of one request.
#[derive(Debug, Clone, Default)]
pub struct QueryOptions {
    pub filter: Option<String>,
    pub select: Option<String>,
    pub top: Option<String>,
    pub count: Option<String>,
    pub skiptoken: Option<String>,
    /// Options the simulator recognises but does not implement (`$orderby`, `$search`, `$expand`).
    pub unsupported: Vec<String>,
    pub skip: Option<String>,
    /// The raw `key=value` pieces except `$skiptoken`, to rebuild `@odata.nextLink`.
    pub raw_without_skiptoken: Vec<String>,
}

impl QueryOptions {
    pub fn parse(raw: Option<&str>) -> Result<QueryOptions, GraphError> {
        let mut options = QueryOptions::default();
        let Some(raw) = raw else { return Ok(options) };
        for piece in raw.split('&').filter(|p| !p.is_empty()) {
            let (raw_key, raw_value) = piece.split_once('=').unwrap_or((piece, ""));
            let key = decode_component(raw_key);
            let value = decode_component(raw_value);
            let dollar = key.starts_with('$');
            let name = key.trim_start_matches('$').to_ascii_lowercase();
            let slot = match name.as_str() {
                "filter" => Some(&mut options.filter),
                "select" => Some(&mut options.select),
                "top" => Some(&mut options.top),
                "count" => Some(&mut options.count),
                "skiptoken" => Some(&mut options.skiptoken),
                "skip" => Some(&mut options.skip),
                "orderby" | "search" | "expand" | "format" | "levels" | "apply" | "compute" | "index" => {
                    options.unsupported.push(format!("${name}"));
                    None
                }
                _ if dollar => {
                    return Err(GraphError::request_bad_request(format!("Query option '{key}' is not supported.")))
                }
                _ => None,
            };
            if let Some(slot) = slot {
                if slot.is_some() {
                    return Err(GraphError::request_bad_request(format!(
                        "Query option '${name}' was specified more than once, but it must be specified at most once."
                    )));
                }
                *slot = Some(value);
            }
            if name != "skiptoken" {
                options.raw_without_skiptoken.push(piece.to_owned());
            }
        }
        Ok(options)
    }

    /// `$count=true` (case-insensitive); anything but true/false is refused.
    pub fn count_requested(&self) -> Result<bool, GraphError> {
        match self.count.as_deref().map(|c| c.trim().to_ascii_lowercase()) {
            None => Ok(false),
            Some(c) if c == "true" => Ok(true),
            Some(c) if c == "false" => Ok(false),
            Some(c) => Err(GraphError::request_bad_request(format!(
                "Invalid value '{c}' for the $count query option; expected true or false."
            ))),
        }
    }

    /// `$top` for the users collection: 1..=999, default 100.
    pub fn page_size(&self) -> Result<usize, GraphError> {
        self.top_within(100, 999)
    }

    /// `$top` within `1..=max`, or `default` without one. Each collection has its own limits.
    pub fn top_within(&self, default: usize, max: usize) -> Result<usize, GraphError> {
        match self.top.as_deref().map(str::trim) {
            None => Ok(default),
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(GraphError::request_bad_request(format!(
                    "Invalid page size specified: '{text}'. Must be between 1 and {max} inclusive."
                ))),
            },
        }
    }
}

/// Parses `$select`: a comma list of property names, matched case-insensitively.
pub fn parse_select(text: &str) -> Result<Vec<Property>, GraphError> {
    let mut out: Vec<Property> = Vec::new();
    for name in text.split(',').map(str::trim) {
        if name.is_empty() {
            return Err(GraphError::request_bad_request(format!(
                "Syntax error: character ',' is not valid at position 0 in '{text}'."
            )));
        }
        let property = Property::lookup(name).ok_or_else(|| {
            GraphError::request_bad_request(format!(
                "Could not find a property named '{name}' on type 'microsoft.graph.user'."
            ))
        })?;
        if !out.contains(&property) {
            out.push(property);
        }
    }
    Ok(out)
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn parse(word: &str) -> Option<Op> {
        match word.to_ascii_lowercase().as_str() {
            "eq" => Some(Op::Eq),
            "ne" => Some(Op::Ne),
            "gt" => Some(Op::Gt),
            "ge" => Some(Op::Ge),
            "lt" => Some(Op::Lt),
            "le" => Some(Op::Le),
            _ => None,
        }
    }

    /// Whether `left op right` holds, given how `left` compares with `right`.
    fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Op::Eq => ordering == Equal,
            Op::Ne => ordering != Equal,
            Op::Gt => ordering == Greater,
            Op::Ge => ordering != Less,
            Op::Lt => ordering == Less,
            Op::Le => ordering != Greater,
        }
    }

    fn test<T: PartialOrd>(self, left: T, right: T) -> bool {
        match self {
            Op::Eq => left == right,
            Op::Ne => left != right,
            Op::Gt => left > right,
            Op::Ge => left >= right,
            Op::Lt => left < right,
            Op::Le => left <= right,
        }
    }
}

/// One comparison the simulator can evaluate.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    LicenseCount(Op, i64),
    UserType(Op, String),
    AccountEnabled(Op, bool),
    /// `userPrincipalName` compared with a string. Graph compares directory strings without regard
    /// to case; the simulator compares the lowercased texts by code point (the value is kept
    /// lowercased).
    UserPrincipalName(Op, String),
}

/// `text` lowercased, compared by code point with `lowered` (already lowercase), without building
/// the lowercased string: a range listing compares every user's UPN once per page and per
/// `$count`, and allocating for each made the simulator's CPU, not Graph's rules, the limit of
/// 100,000-user runs (1,147 `$count` requests took about 15 s).
fn lowercase_cmp(text: &str, lowered: &str) -> std::cmp::Ordering {
    text.chars().flat_map(char::to_lowercase).cmp(lowered.chars())
}

/// A parsed `$filter`: a conjunction of predicates.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    pub predicates: Vec<Predicate>,
}

impl Filter {
    /// Whether Graph needs `ConsistencyLevel: eventual` and `$count=true` for it.
    pub fn is_advanced(&self) -> bool {
        self.predicates.iter().any(|p| match p {
            Predicate::LicenseCount(..) => true,
            Predicate::UserType(op, _) | Predicate::AccountEnabled(op, _) | Predicate::UserPrincipalName(op, _) => {
                *op != Op::Eq
            }
        })
    }

    /// Whether it compares `userPrincipalName` with `ge` or `le`: a range of UPNs.
    pub fn has_upn_range(&self) -> bool {
        self.predicates.iter().any(|p| matches!(p, Predicate::UserPrincipalName(Op::Ge | Op::Le, _)))
    }

    /// The widest `userPrincipalName` bounds the filter implies (lower-cased, inclusive): every
    /// user it matches lies within them. None where it sets neither.
    pub fn upn_bounds(&self) -> Option<(Option<&str>, Option<&str>)> {
        let (mut lower, mut upper) = (None, None);
        for predicate in &self.predicates {
            if let Predicate::UserPrincipalName(op, value) = predicate {
                match op {
                    Op::Ge | Op::Gt => lower = Some(lower.map_or(value.as_str(), |l: &str| l.max(value.as_str()))),
                    Op::Le | Op::Lt => upper = Some(upper.map_or(value.as_str(), |u: &str| u.min(value.as_str()))),
                    Op::Eq => {
                        lower = Some(value.as_str());
                        upper = Some(value.as_str());
                    }
                    Op::Ne => {}
                }
            }
        }
        (lower.is_some() || upper.is_some()).then_some((lower, upper))
    }

    pub fn matches(&self, user: &User) -> bool {
        self.predicates.iter().all(|p| match p {
            Predicate::LicenseCount(op, n) => op.test(user.license_count() as i64, *n),
            Predicate::UserType(op, value) => {
                let equal = value.eq_ignore_ascii_case(user.user_type.as_str());
                if *op == Op::Eq {
                    equal
                } else {
                    !equal
                }
            }
            Predicate::AccountEnabled(op, value) => {
                if *op == Op::Eq {
                    user.account_enabled == *value
                } else {
                    user.account_enabled != *value
                }
            }
            Predicate::UserPrincipalName(op, value) => op.holds(lowercase_cmp(&user.user_principal_name, value)),
        })
    }

    pub fn parse(text: &str) -> Result<Filter, GraphError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser { text, tokens, position: 0, predicates: Vec::new() };
        parser.conjunction()?;
        if let Some((at, _)) = parser.tokens.get(parser.position) {
            return Err(syntax_error(*at, text));
        }
        Ok(Filter { predicates: parser.predicates })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Num(i64),
    Open,
    Close,
    Comma,
}

fn syntax_error(position: usize, text: &str) -> GraphError {
    GraphError::unsupported_query(format!("Invalid filter clause: Syntax error at position {position} in '{text}'."))
}

fn unsupported_property(name: &str) -> GraphError {
    GraphError::unsupported_query(format!(
        "Unsupported or invalid query filter clause specified for property '{name}' of resource 'User'."
    ))
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, GraphError> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            tokens.push((at, Token::Open));
            i += 1;
        } else if c == ')' {
            tokens.push((at, Token::Close));
            i += 1;
        } else if c == ',' {
            tokens.push((at, Token::Comma));
            i += 1;
        } else if c == '\'' {
            let mut value = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(syntax_error(at, text)),
                    Some((_, '\'')) if matches!(chars.get(i + 1), Some((_, '\''))) => {
                        value.push('\'');
                        i += 2;
                    }
                    Some((_, '\'')) => {
                        i += 1;
                        break;
                    }
                    Some((_, ch)) => {
                        value.push(*ch);
                        i += 1;
                    }
                }
            }
            tokens.push((at, Token::Str(value)));
        } else if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(|(_, d)| d.is_ascii_digit())) {
            let start = i;
            i += 1;
            while chars.get(i).is_some_and(|(_, d)| d.is_ascii_digit()) {
                i += 1;
            }
            let literal: String = chars[start..i].iter().map(|(_, ch)| ch).collect();
            let number = literal.parse::<i64>().map_err(|_| syntax_error(at, text))?;
            tokens.push((at, Token::Num(number)));
        } else if c.is_alphabetic() || c == '$' || c == '_' {
            let start = i;
            while chars.get(i).is_some_and(|(_, ch)| ch.is_alphanumeric() || matches!(ch, '$' | '_' | '/' | '.')) {
                i += 1;
            }
            tokens.push((at, Token::Word(chars[start..i].iter().map(|(_, ch)| ch).collect())));
        } else {
            return Err(syntax_error(at, text));
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<(usize, Token)>,
    position: usize,
    predicates: Vec<Predicate>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position).map(|(_, t)| t)
    }

    fn at(&self) -> usize {
        self.tokens.get(self.position).map(|(at, _)| *at).unwrap_or(self.text.len())
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.position).map(|(_, t)| t.clone());
        self.position += 1;
        token
    }

    fn conjunction(&mut self) -> Result<(), GraphError> {
        self.primary()?;
        loop {
            match self.peek() {
                Some(Token::Word(w)) if w.eq_ignore_ascii_case("and") => {
                    self.position += 1;
                    self.primary()?;
                }
                Some(Token::Word(w)) if w.eq_ignore_ascii_case("or") => {
                    return Err(GraphError::unsupported_query(
                        "Unsupported Query. The simulator's $filter supports only 'and' between clauses.",
                    ))
                }
                _ => return Ok(()),
            }
        }
    }

    fn primary(&mut self) -> Result<(), GraphError> {
        let at = self.at();
        match self.next() {
            Some(Token::Open) => {
                self.conjunction()?;
                match self.next() {
                    Some(Token::Close) => Ok(()),
                    _ => Err(syntax_error(self.at(), self.text)),
                }
            }
            Some(Token::Word(word)) => {
                if word.eq_ignore_ascii_case("not") {
                    return Err(GraphError::unsupported_query(
                        "Unsupported Query. The simulator's $filter does not support 'not'.",
                    ));
                }
                if matches!(self.peek(), Some(Token::Open)) {
                    // A function call such as startswith(...) or assignedLicenses/any(...).
                    return Err(unsupported_property(word.split('/').next().unwrap_or(&word)));
                }
                let op_at = self.at();
                let op = match self.next() {
                    Some(Token::Word(w)) => Op::parse(&w).ok_or_else(|| syntax_error(op_at, self.text))?,
                    _ => return Err(syntax_error(op_at, self.text)),
                };
                let literal_at = self.at();
                let literal = self.next().ok_or_else(|| syntax_error(literal_at, self.text))?;
                let predicate = self.comparison(&word, op, literal, literal_at)?;
                self.predicates.push(predicate);
                Ok(())
            }
            _ => Err(syntax_error(at, self.text)),
        }
    }

    fn comparison(&self, property: &str, op: Op, literal: Token, literal_at: usize) -> Result<Predicate, GraphError> {
        let mismatch = |expected: &str| {
            GraphError::unsupported_query(format!(
                "A binary operator with incompatible types was detected. Found operand types '{expected}' and \
                 another type for operator kind '{op:?}'."
            ))
        };
        match property.to_ascii_lowercase().as_str() {
            "assignedlicenses/$count" => match literal {
                Token::Num(n) => Ok(Predicate::LicenseCount(op, n)),
                _ => Err(mismatch("Edm.Int32")),
            },
            "usertype" => {
                if !matches!(op, Op::Eq | Op::Ne) {
                    return Err(unsupported_property("userType"));
                }
                match literal {
                    Token::Str(value) => Ok(Predicate::UserType(op, value)),
                    _ => Err(mismatch("Edm.String")),
                }
            }
            "userprincipalname" => {
                // Graph's user reference lists eq, ne, ge and le (with not, in, startsWith and
                // endsWith, which the simulator does not parse) for userPrincipalName; not gt or lt.
                if !matches!(op, Op::Eq | Op::Ne | Op::Ge | Op::Le) {
                    return Err(unsupported_property("userPrincipalName"));
                }
                match literal {
                    Token::Str(value) => Ok(Predicate::UserPrincipalName(op, value.to_lowercase())),
                    _ => Err(mismatch("Edm.String")),
                }
            }
            "accountenabled" => {
                if !matches!(op, Op::Eq | Op::Ne) {
                    return Err(unsupported_property("accountEnabled"));
                }
                match literal {
                    Token::Word(w) if w.eq_ignore_ascii_case("true") => Ok(Predicate::AccountEnabled(op, true)),
                    Token::Word(w) if w.eq_ignore_ascii_case("false") => Ok(Predicate::AccountEnabled(op, false)),
                    Token::Word(_) | Token::Open | Token::Close | Token::Comma => {
                        Err(syntax_error(literal_at, self.text))
                    }
                    _ => Err(mismatch("Edm.Boolean")),
                }
            }
            _ => Err(unsupported_property(property)),
        }
    }
}

const SKIPTOKEN_PREFIX: &str = "RFNwdAIAAQAAAB";

/// An opaque `$skiptoken` naming where the next page starts in this tenant generation.
pub fn encode_skiptoken(generation: u64, next_index: usize) -> String {
    format!("{SKIPTOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(format!("gs1:{generation}:{next_index}")))
}

/// Reads a `$skiptoken`: `Some((generation, next_index))`, or `None` if it is not one of ours.
pub fn decode_skiptoken(token: &str) -> Option<(u64, usize)> {
    let body = token.trim().strip_prefix(SKIPTOKEN_PREFIX)?;
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
    let mut parts = text.strip_prefix("gs1:")?.split(':');
    let generation = parts.next()?.parse().ok()?;
    let index = parts.next()?.parse().ok()?;
    Some((generation, index))
}

pub fn expired_page_token() -> GraphError {
    GraphError::new(
        400,
        "Directory_ExpiredPageToken",
        "The specified page token value has expired and can no longer be included in your request.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_licensed_member_filter_tolerantly() {
        for text in [
            "assignedLicenses/$count ne 0 and userType eq 'Member'",
            "  AssignedLicenses/$count  NE 0   AND  usertype EQ 'member' ",
            "(assignedLicenses/$count ne 0) and (userType eq 'Member')",
        ] {
            let filter = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert!(filter.is_advanced());
            assert_eq!(filter.predicates.len(), 2);
        }
        let simple = Filter::parse("userType eq 'Guest' and accountEnabled eq false").unwrap();
        assert!(!simple.is_advanced());
        assert!(Filter::parse("accountEnabled ne true").unwrap().is_advanced());
    }

    #[test]
    fn a_user_principal_name_range_is_advanced_and_case_blind() {
        let filter = Filter::parse("userPrincipalName ge 'b' and userPrincipalName le 'D'").unwrap();
        assert!(filter.is_advanced() && filter.has_upn_range());
        assert_eq!(filter.predicates.len(), 2);
        let equal = Filter::parse("userPrincipalName eq 'adele@contoso.com'").unwrap();
        assert!(!equal.is_advanced() && !equal.has_upn_range());
        assert!(!Filter::parse("userType eq 'Member'").unwrap().has_upn_range());
        for text in ["userPrincipalName gt 'b'", "userPrincipalName lt 'b'", "userPrincipalName ge 5"] {
            assert_eq!(Filter::parse(text).unwrap_err().code, "Request_UnsupportedQuery", "{text}");
        }
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        for text in [
            "startswith(displayName,'a')",
            "department eq 'Sales'",
            "userType eq 'Member' or userType eq 'Guest'",
            "userType eq",
            "userType eq 'Member",
            "accountEnabled eq 'yes'",
            "userType eq 'Member' and",
            "not accountEnabled eq true",
        ] {
            let error = Filter::parse(text).unwrap_err();
            assert_eq!(error.code, "Request_UnsupportedQuery", "{text}");
        }
    }

    #[test]
    fn query_options_decode_and_keep_raw_pieces() {
        let q = QueryOptions::parse(Some(
            "%24filter=userType%20eq%20'Member'&$top=5&$skiptoken=abc&$select=id,displayName&x=1",
        ))
        .unwrap();
        assert_eq!(q.filter.as_deref(), Some("userType eq 'Member'"));
        assert_eq!(q.page_size().unwrap(), 5);
        assert_eq!(q.skiptoken.as_deref(), Some("abc"));
        assert_eq!(q.raw_without_skiptoken.len(), 4);
        assert!(QueryOptions::parse(Some("$top=1&$top=2")).is_err());
        assert!(QueryOptions::parse(Some("$bogus=1")).is_err());
        let big = QueryOptions::parse(Some("$top=1000")).unwrap();
        assert_eq!(big.page_size().unwrap_err().code, "Request_BadRequest");
    }

    #[test]
    fn select_is_case_insensitive_and_strict() {
        let props = parse_select("ID, userprincipalname,perUserMfaState").unwrap();
        assert_eq!(props, vec![Property::Id, Property::UserPrincipalName, Property::PerUserMfaState]);
        assert_eq!(parse_select("id,nope").unwrap_err().code, "Request_BadRequest");
        assert!(parse_select("hasMfaMethods").is_err());
    }

    #[test]
    fn skiptokens_round_trip() {
        let token = encode_skiptoken(3, 1234);
        assert_eq!(decode_skiptoken(&token), Some((3, 1234)));
        assert_eq!(decode_skiptoken("garbage"), None);
    }
}
