//! `/user`: the signed-in person's profile.

use super::{Ctx, PageResult, sign_in_first};

pub fn show(ctx: &Ctx<'_>) -> PageResult {
    Ok(sign_in_first(&ctx.path_and_query()))
}
