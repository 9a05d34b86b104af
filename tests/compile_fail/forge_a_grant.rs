// A `Grant` has private fields and no public constructor, so it cannot be forged.
use rddsd::authority::Grant;

fn main() {
    let _ = Grant {
        purpose: rddsd::authority::Purpose::CourtOrder,
    };
}
