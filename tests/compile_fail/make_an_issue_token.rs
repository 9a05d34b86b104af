// The token that issues grants is made by the authority service alone; outside the crate it
// cannot be made at all, so neither can a grant.
use rddsd::policy::access::IssueToken;

fn main() {
    let _ = IssueToken::for_authority_service();
}
