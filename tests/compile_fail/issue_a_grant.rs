// Only the authority module issues grants, after verifying a credential and a statement.
use rddsd::authority::Grant;

fn main() {
    let _: Grant = Grant::issue(todo!());
}
