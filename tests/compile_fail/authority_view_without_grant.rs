// Public code cannot name an authority audience without a grant: `Purpose` is not a grant,
// and a `Grant` has no public constructor.
use rddsd::policy::{Audience, Purpose};

fn main() {
    let _ = Audience::Authority(Purpose::CourtOrder);
}
