//! Per-user reads and writes through `$batch`: the documented
//! `/beta/users/{id}/authentication/requirements` path.

use serde_json::{json, Value};

use super::listing::identity_of;
use crate::error::{EngineError, ErrorKind, Operation};
use crate::graph::batch::{Batcher, SubRequest, SubResponse};
use crate::graph::client::{graph_error, request_id};
use crate::graph::paths::{methods_path, requirements_path, user_path};
use crate::graph::throttle::Budget;
use crate::model::{MfaState, UserIdentity};

pub const IDENTITY_SELECT: &str = "id,userPrincipalName,displayName";

/// Maps a non-success answer to the error for `target`.
pub fn check(answer: SubResponse, operation: Operation, target: &str) -> Result<SubResponse, EngineError> {
    if answer.is_success() {
        return Ok(answer);
    }
    let (code, message) = graph_error(&answer.body);
    let request_id = request_id(&answer.meta, &answer.body);
    Err(EngineError::from_graph(answer.status, code, message, request_id, operation, target))
}

/// The longest user id sent to Graph: an object id has 36 characters and a user principal name
/// at most 113 before the '@' and 256 after it (a guest's `#EXT#` name included); anything longer
/// cannot name a user, so it is refused without a request.
pub const MAX_USER_ID_CHARS: usize = 1024;

pub fn validate_target(target: &str) -> Result<(), EngineError> {
    if target.trim().is_empty() {
        return Err(EngineError::invalid_input(
            "An empty user id was given. Pass an object id or a user principal name.",
        ));
    }
    let length = target.chars().count();
    if length > MAX_USER_ID_CHARS {
        return Err(EngineError::invalid_input(format!(
            "The user id '{}' is too long to be an object id or a user principal name (at most {MAX_USER_ID_CHARS} \
             characters); nothing was sent for it. Check the input.",
            crate::error::shown(target)
        )));
    }
    Ok(())
}

/// A user's identity and current state, read together (both requests usually share a batch).
pub async fn read_user(batcher: &Batcher, target: &str) -> Result<(UserIdentity, String), EngineError> {
    let (user, state) = read_user_with(batcher, target, IDENTITY_SELECT).await?;
    Ok((identity_in(&user, target)?, state))
}

/// The identity in Graph's answer for `target`; an answer without an id is an error naming the user.
pub fn identity_in(user: &Value, target: &str) -> Result<UserIdentity, EngineError> {
    identity_of(user).ok_or_else(|| {
        EngineError::new(
            ErrorKind::GraphError,
            format!("Graph's answer for user '{}' had no id.", crate::error::shown(target)),
        )
    })
}

/// The user's properties in `select` and their state, both asked for at once.
pub async fn read_user_with(batcher: &Batcher, target: &str, select: &str) -> Result<(Value, String), EngineError> {
    validate_target(target)?;
    let (user, state) = tokio::join!(
        batcher.call(SubRequest::get(user_path(target, select))),
        batcher.call(SubRequest::get(requirements_path(target))),
    );
    let user = check(user?, Operation::ReadUser, target)?;
    let state = check(state?, Operation::ReadState, target)?;
    Ok((user.body, state_of(&state, target)?))
}

/// The current state of a user already identified (by object id).
pub async fn read_state(batcher: &Batcher, id: &str, target: &str) -> Result<String, EngineError> {
    let answer = check(batcher.call(SubRequest::get(requirements_path(id))).await?, Operation::ReadState, target)?;
    state_of(&answer, target)
}

/// Whether the user registered a second factor ([`super::report_sources::has_second_factor`]):
/// one `/authentication/methods` read (UserAuthenticationMethod.Read.All), on that family's budget.
pub async fn has_second_factor(batcher: &Batcher, id: &str, target: &str) -> Result<bool, EngineError> {
    let answer = check(
        batcher.call(SubRequest::get_from(methods_path(id), Budget::AuthMethods)).await?,
        Operation::ReadUser,
        target,
    )?;
    Ok(super::report_sources::has_second_factor(&answer.body))
}

/// Sends the PATCH that changes the state from `current` to `state`.
pub async fn write_state(
    batcher: &Batcher,
    id: &str,
    state: &MfaState,
    current: &str,
    target: &str,
) -> Result<(), EngineError> {
    let body = json!({ "perUserMfaState": state.as_graph() });
    let before = json!({ "perUserMfaState": current });
    let patch = SubRequest::patch(requirements_path(id), body, Some(before));
    check(batcher.call(patch).await?, Operation::ChangeState, target)?;
    Ok(())
}

fn state_of(answer: &SubResponse, target: &str) -> Result<String, EngineError> {
    answer.body["perUserMfaState"].as_str().map(str::to_string).ok_or_else(|| {
        EngineError::new(
            ErrorKind::GraphError,
            format!("Graph's answer for '{}' had no perUserMfaState value.", crate::error::shown(target)),
        )
    })
}
