// Only the request workflow makes an `Approved` (from a record approved and within its
// valid-until), and only an `Approved` gets a grant from `Authority::grant_for_request`.
use rddsd::requests::Approved;

fn main() {
    let _ = Approved {
        id: String::new(),
    };
}
