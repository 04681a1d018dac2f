//! A picture of the network in Graphviz's dot language (`--emit dot`), built with petgraph.

use crate::ir::{Network, ProcKind};
use crate::print::{op_text, sched_text};
use cranelift_entity::EntityRef;
use petgraph::dot::{Config, Dot};
use petgraph::graph::{DiGraph, NodeIndex};
use std::fmt::Write;

/// The network as a dot graph: ports, processes (with width and schedule) and buses.
pub fn to_dot(n: &Network) -> String {
    let mut g: DiGraph<String, String> = DiGraph::new();
    let mut idx: Vec<NodeIndex> = Vec::new();
    for (b, node) in n.nodes.iter() {
        let label = match &node.kind {
            ProcKind::Input(i, 0) => format!("input {}", n.inputs[*i as usize].name),
            ProcKind::Input(i, l) => format!("input {} lane {l}", n.inputs[*i as usize].name),
            ProcKind::Param(i) => format!("param {}", n.params[*i as usize].name),
            k => format!("{b} = {}", op_text(k)),
        };
        idx.push(g.add_node(format!(
            "{label}\\ns{} {}",
            node.width,
            sched_text(&node.sched)
        )));
    }
    for (b, node) in n.nodes.iter() {
        for i in node.kind.inputs() {
            g.add_edge(
                idx[i.index()],
                idx[b.index()],
                format!("s{}", n.nodes[i].width),
            );
        }
    }
    for o in &n.outputs {
        let out = g.add_node(format!("output {}: {}", o.name, o.dtype));
        for (l, b) in o.lanes.iter().enumerate() {
            let label = if o.lanes.len() > 1 {
                format!("lane {l}")
            } else {
                String::new()
            };
            g.add_edge(idx[b.index()], out, label);
        }
    }
    let mut s = String::new();
    let dot = Dot::with_attr_getters(
        &g,
        &[
            Config::EdgeNoLabel,
            Config::NodeNoLabel,
            Config::GraphContentOnly,
        ],
        &|_, e| format!("label=\"{}\"", e.weight()),
        &|_, (_, label)| {
            let shape = if label.starts_with("input")
                || label.starts_with("param")
                || label.starts_with("output")
            {
                "ellipse"
            } else {
                "box"
            };
            format!("label=\"{label}\" shape={shape}")
        },
    );
    let _ = writeln!(s, "digraph \"{}\" {{\n    rankdir=LR;", n.name);
    let _ = write!(s, "{dot:?}");
    s.push_str("}\n");
    s
}
