//! `/organization` and `/create-organization`.

use super::{Ctx, PageResult, sign_in_first};

pub fn show(ctx: &Ctx<'_>) -> PageResult {
    Ok(sign_in_first(&ctx.path_and_query()))
}

pub fn show_create(ctx: &Ctx<'_>) -> PageResult {
    Ok(sign_in_first(&ctx.path_and_query()))
}
