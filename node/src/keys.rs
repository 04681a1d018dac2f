//! The `.hiss/` layout of a bucket: the keys the node reads a kernel, its
//! fixed inputs and its states from, and writes results to. Every module that
//! names one of these keys asks here.

/// The key a kernel is attached by.
pub const KERNEL_KEY: &str = ".hiss/kernel.hbx";
/// The prefix of the kernel's fixed array inputs.
pub const INPUT_PREFIX: &str = ".hiss/in/";
/// The prefix of results.
pub const OUTPUT_PREFIX: &str = ".hiss/out/";
/// The kernel's states: `.hiss/state/NAME.npy` (zeros when absent; written by
/// the node after each object, or by a client to set them).
pub const STATE_PREFIX: &str = ".hiss/state/";
/// Every key the node gives a meaning to starts here.
const NODE_PREFIX: &str = ".hiss/";

/// The object a fixed input `name` is read from.
pub fn input(name: &str) -> String {
    format!("{INPUT_PREFIX}{name}.npy")
}

/// The object a state `name` is kept in.
pub fn state(name: &str) -> String {
    format!("{STATE_PREFIX}{name}.npy")
}

/// The object a state file `file` (`NAME.npy`) is committed as.
pub fn state_file(file: &str) -> String {
    format!("{STATE_PREFIX}{file}")
}

/// The result `file` of the data object `key`.
pub fn result(key: &str, file: &str) -> String {
    format!("{OUTPUT_PREFIX}{key}/{file}")
}

/// Whether `key` is one the node gives a meaning to (no kernel runs on it).
pub fn is_node_key(key: &str) -> bool {
    key.starts_with(NODE_PREFIX)
}

/// Whether `key` is a result, written only by the node.
pub fn is_result(key: &str) -> bool {
    key.starts_with(OUTPUT_PREFIX)
}

/// Whether `key` is what a bucket's kernel runs from (the kernel, a fixed
/// input, a state): it stays in the buffer after a flush.
pub fn is_control(key: &str) -> bool {
    key == KERNEL_KEY || key.starts_with(INPUT_PREFIX) || key.starts_with(STATE_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_a_bucket() {
        assert_eq!(input("pedestal"), ".hiss/in/pedestal.npy");
        assert_eq!(state("acc"), ".hiss/state/acc.npy");
        assert_eq!(
            result("run/a.npy", "out.npy"),
            ".hiss/out/run/a.npy/out.npy"
        );
        assert!(is_control(KERNEL_KEY) && is_control(&state("acc")) && is_control(&input("p")));
        assert!(!is_control(&result("a", "out.npy")) && !is_control("data/a.npy"));
        assert!(is_node_key(&result("a", "out.npy")) && !is_node_key("hiss/a"));
        assert!(is_result(&result("a", "out.npy")) && !is_result(KERNEL_KEY));
    }
}
