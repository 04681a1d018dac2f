//! Dead-code elimination: drops the instructions no output depends on (a
//! helper's unused result, a loop's intermediate values that a later pass
//! replaced), so that they never become hardware. Inputs always stay: they are
//! the kernel's ports.

use crate::ir::{Inst, Kernel, Value};
use cranelift_entity::{EntityRef, PrimaryMap};

/// `k` without the instructions no output reads.
pub fn run(k: &Kernel) -> Kernel {
    let mut live = vec![false; k.insts.len()];
    for o in k.roots() {
        live[o.index()] = true;
    }
    for (v, d) in k.insts.iter().rev() {
        if matches!(d.inst, Inst::Input(_)) {
            live[v.index()] = true;
        }
        if live[v.index()] {
            for a in d.inst.args() {
                live[a.index()] = true;
            }
        }
    }
    let mut map: Vec<Option<Value>> = vec![None; k.insts.len()];
    let mut insts = PrimaryMap::new();
    for (v, d) in k.insts.iter() {
        if live[v.index()] {
            let mut data = d.clone();
            data.inst = d
                .inst
                .map_args(|a| map[a.index()].expect("operands are live"));
            map[v.index()] = Some(insts.push(data));
        }
    }
    Kernel {
        name: k.name.clone(),
        params: k.params.clone(),
        insts,
        outputs: k
            .outputs
            .iter()
            .map(|o| map[o.index()].expect("outputs are live"))
            .collect(),
        states: k.states.clone(),
        updates: k
            .updates
            .iter()
            .map(|o| map[o.index()].expect("updates are live"))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use crate::parse::parse;
    use crate::print::print;

    #[test]
    fn unused_values_go_inputs_stay() {
        let k = parse(
            "kernel k(a: u16[4], b: u16[4]) {
  v0: u16[4] = input a
  v1: u16[4] = input b
  v2: u16[4] = add v0, v0
  v3: u64 = reduce sum v0
  return v3
}
",
        )
        .unwrap();
        let out = print(&super::run(&k), None);
        assert!(!out.contains("add"), "{out}");
        assert!(out.contains("input b"), "{out}");
        assert!(out.contains("return v2"), "{out}");
    }
}
