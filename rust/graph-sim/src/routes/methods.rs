//! `GET /users/{id|upn}/authentication/methods`: the user's registered methods, each with its
//! type's documented shape. Needs UserAuthenticationMethod.Read.All (or .ReadWrite.All).

use serde_json::{json, Value};

use crate::activity;
use crate::auth::Principal;
use crate::odata::GraphError;
use crate::routes::{GraphRequest, GraphResponse};
use crate::SimState;

pub const METHODS_READ: &[&str] = &["UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"];

pub fn list(
    sim: &SimState,
    request: &GraphRequest,
    principal: &Principal,
    key: &str,
) -> Result<GraphResponse, GraphError> {
    if !principal.has_any(METHODS_READ) {
        return Err(GraphError::new(403, "accessDenied", "Request Authorization failed"));
    }
    let tenant = sim.tenant();
    let user = tenant.find(key).ok_or_else(|| GraphError::not_found(key))?;
    let version = request.version.segment();
    Ok(GraphResponse::json(
        200,
        json!({
            "@odata.context": format!("https://graph.microsoft.com/{version}/$metadata#users('{}')/authentication/methods", user.id),
            "value": Value::Array(activity::methods_json(user, &user.activity, request.version)),
        }),
    ))
}
