//! National clouds: which Graph endpoint and which Entra ID authority each one uses
//! (/work/shared/docs/graph-facts.md "Sign-in endpoints by cloud").

use crate::error::{EngineError, ErrorKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    Global,
    UsGov,
    UsGovDoD,
    China,
}

impl Cloud {
    pub const ALL: [Cloud; 4] = [Cloud::Global, Cloud::UsGov, Cloud::UsGovDoD, Cloud::China];

    /// `-Environment` as the admin typed it (case-insensitive; Microsoft Graph PowerShell's names).
    pub fn parse(name: Option<&str>) -> Result<Cloud, EngineError> {
        let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else { return Ok(Cloud::Global) };
        Cloud::ALL.into_iter().find(|c| c.name().eq_ignore_ascii_case(name)).ok_or_else(|| {
            EngineError::new(
                ErrorKind::InvalidInput,
                format!("'{name}' is not a Microsoft cloud PerUserMfa knows. Use -Environment Global, USGov, USGovDoD or China."),
            )
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Cloud::Global => "Global",
            Cloud::UsGov => "USGov",
            Cloud::UsGovDoD => "USGovDoD",
            Cloud::China => "China",
        }
    }

    pub fn graph_endpoint(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::UsGov => "https://graph.microsoft.us",
            Cloud::UsGovDoD => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::UsGov | Cloud::UsGovDoD => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    /// The token audience: the cloud's Graph resource, whatever -GraphEndpoint says (a proxy or
    /// a simulator answers for the same resource).
    pub fn graph_resource(self) -> &'static str {
        self.graph_endpoint()
    }

    /// The scope a client-credentials request asks for: every application permission consented.
    pub fn graph_scope(self) -> String {
        format!("{}/.default", self.graph_resource())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_endpoints() {
        assert_eq!(Cloud::parse(None).unwrap(), Cloud::Global);
        assert_eq!(Cloud::parse(Some("usgov")).unwrap().graph_endpoint(), "https://graph.microsoft.us");
        assert_eq!(Cloud::parse(Some("USGovDoD")).unwrap().authority_host(), "https://login.microsoftonline.us");
        assert_eq!(Cloud::parse(Some(" China ")).unwrap().authority_host(), "https://login.chinacloudapi.cn");
        assert_eq!(Cloud::Global.graph_scope(), "https://graph.microsoft.com/.default");
        let e = Cloud::parse(Some("Mars")).unwrap_err();
        assert!(e.message.contains("Global, USGov, USGovDoD or China"));
    }
}
