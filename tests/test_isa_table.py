"""The instruction table (hvmm/isa/table.py) and what is generated from it:
the opcode switch the core is built with, and docs/opcodes.md."""
import re
from pathlib import Path

import pytest

from hvmm.isa import docs, generate
from hvmm.isa import table as T

REPO = Path(__file__).resolve().parents[1]


def test_opcode_page_is_up_to_date():
    page = (REPO / "docs" / "opcodes.md").read_text()
    assert page == docs.render(), (
        "docs/opcodes.md is stale: python -m hvmm.isa.docs > docs/opcodes.md")


def test_built_switch_is_the_tables():
    """The core in this tree was built from the current table (setup.py
    regenerates the switch before Cython runs)."""
    built = REPO / "hvmm" / "core" / "execute_gen.pxi"
    if not built.exists():
        pytest.skip("the core has not been built in this tree")
    assert built.read_text() == generate.generate(), (
        "core/execute_gen.pxi differs from the table: rebuild (python setup.py build_ext --inplace)")


@pytest.mark.parametrize("model", T.MODELS)
def test_one_behaviour_per_encoding(model):
    """Per model, an encoding is one row, or one row per ModRM reg value."""
    seen = {}
    for f in T.forms(model):
        key = (f.opcode, f.reg)
        assert key not in seen, f"{model}: {f.encoding} twice ({seen[key].mnemonic}, {f.mnemonic})"
        seen[key] = f
        assert (f.opcode, None) not in seen or f.reg is None, f"{model}: {f.encoding} mixes group and plain rows"
    for opcode, reg in seen:
        if reg is not None:
            assert (opcode, None) not in seen


def test_switch_compiles_to_jump_tables():
    """Only equality tests on the opcode and the reg field (a range test
    would stop gcc from emitting a jump table), and no body asks which CPU
    model it runs on: that comes from the table."""
    text = generate.generate()
    switch = text[text.index("cdef inline int execute_"):text.index("cdef inline int execute(")]
    tests = re.findall(r"\b(?:op|d\.reg)\s*(==|!=|<=|>=|<(?![<=])|>(?![>=]))", switch)
    assert tests and set(tests) == {"=="}
    # The only model tests are the generator's, for hot rows of a sharing
    # model (one compare inline instead of an out-of-line split helper),
    # each followed by that row's body and #UD for the other models.
    hot_bodies = {f.body for f in T.forms() if f.hot}
    assert hot_bodies
    lines = switch.split("\n")
    model_tests = [i for i, line in enumerate(lines) if "MODEL_" in line or "c.model" in line]
    for i in model_tests:
        assert re.fullmatch(r"\s*if c\.model == MODEL_\w+:", lines[i]), lines[i]
        body = [lines[i + 1].strip(), lines[i + 2].strip()]
        assert hot_bodies & set(body), body
        assert "VEC_UD" in lines[i + 4] or "VEC_UD" in lines[i + 3], lines[i:i + 5]
    assert len(model_tests) == len({f.body for f in T.forms() if f.hot})
    for m in generate.instantiated():
        assert f"cdef inline int execute_{m}(" in text
        assert f"cdef int run_loop_{m}(" in text
        # one instruction loop per default size (CS.D) where the model has one
        for bits in ((16, 32) if T.OPERAND_SIZE_32[m] else (16,)):
            assert f"cdef int run_chunk_{m}_{bits}(void* c, uint64_t chunk)" in text
    for m, host in generate.SHARES.items():
        assert m in T.MODELS and host in generate.instantiated()
        assert f"cdef inline int execute_{m}(" not in text
        assert f"run_chunk_{m}_" not in text


def test_instruction_shapes_follow_the_rows():
    """The length decoder's and the LOCK check's table (shape_table_<model>)
    is generated from the rows: lockable forms, ModRM and immediates."""
    sh = generate.shapes("386")
    lockable = {(k >> 3, k & 7) for k, v in sh.items() if v & 0x80}
    assert (0x00, 0) in lockable and (0xF6, 2) in lockable and (0x1BA, 5) in lockable
    assert (0x88, 0) not in lockable and (0xF6, 0) not in lockable and (0x80, 7) not in lockable
    assert sh[0xF6 << 3] == 0x41 and sh[0xF7 << 3] == 0x48    # TEST: ModRM + Ib / Iz
    assert sh[0x9A << 3] == 0x0A and sh[0xC8 << 3] == 0x03    # ptr16:16/32; Iw,Ib
    assert sh[0xA0 << 3] == 0x20 and sh[0x0F << 3] == 0x100   # moffs; the 0F escape
    assert sh[(0x8F << 3) | 1] == 0x40                        # POP /1: ModRM, #UD
    # The 686 (it runs the 386's switch, with its own shape table): every
    # 386 form the same, plus its own; x87 escapes take a ModRM, no LOCK.
    sh6 = generate.shapes("686")
    assert all(sh6[k] == v for k, v in sh.items() if k >> 3 not in (0x1A2,))
    assert sh6[0xD8 << 3] == sh6[(0xDF << 3) | 7] == 0x40 == sh[0xDD << 3]
    assert sh6[(0x1C7 << 3) | 1] == 0xC0 and (0x1C7 << 3) | 1 not in sh    # LOCK CMPXCHG8B
    assert sh6[0x140 << 3] == sh6[0x11F << 3] == 0x40 and sh6[0x131 << 3] == 0
    assert T.INSN_LIMIT["686"] == 15 and T.LOCK_UD["686"]


def test_model_differences_are_rows():
    """The 8086's aliases and quirks are rows of their own."""
    def row(model, opcode, reg=None):
        [f] = [f for f in T.forms(model) if f.opcode == opcode and f.reg == reg and not f.prefix]
        return f
    assert row("8086", 0x60).mnemonic == "JO" and row("386", 0x60).mnemonic == "PUSHA"
    assert row("8086", 0xC1).mnemonic == "RET" and row("386", 0xC1, 0).mnemonic == "ROL"
    assert row("8086", 0x0F).mnemonic == "POP" and row("386", 0x0F).escape
    assert "& 3" in row("8086", 0x8E).body and "& 3" not in row("386", 0x8E).body
    assert not [f for f in T.forms("8086") if f.page == 1]
    assert row("386", 0x63).pm_only


def test_iced_names_match_encodings():
    """Each iced-x86 form a row names has that row's opcode (and reg field)."""
    X = pytest.importorskip("iced_x86", reason="iced-x86 is not installed")
    for f in T.ROWS:
        for name in f.iced:
            oc = X.OpCodeInfo(getattr(X.Code, name))
            opcode = oc.op_code | (0x100 if oc.table == X.OpCodeTableKind.T0F else 0)
            if oc.op_code & 7 == 0 and f.opcode & ~7 == opcode and f.reg is None:
                opcode = f.opcode       # register in the opcode (40+r, 50+r, B8+r ...)
            assert opcode == f.opcode, (name, f.encoding)
            if f.reg is not None:
                assert oc.group_index == f.reg, (name, f.encoding)


def test_undefined_flags_match_iced():
    """The undefined-flag masks the differential suite compares with agree
    with iced-x86's, except shifts by an immediate count, where iced's
    answer depends on the count (the suite refines those per case)."""
    X = pytest.importorskip("iced_x86", reason="iced-x86 is not installed")
    bits = {X.RflagsBits.OF: "O", X.RflagsBits.SF: "S", X.RflagsBits.ZF: "Z",
            X.RflagsBits.AF: "A", X.RflagsBits.PF: "P", X.RflagsBits.CF: "C"}
    checked = 0
    for name, f in T.by_iced().items():
        if f.mnemonic in ("ROL", "ROR", "RCL", "RCR", "SHL", "SHR", "SAR", "SHLD", "SHRD") \
                and f.immediate == "b":
            continue
        ins = X.Instruction()
        ins.code = getattr(X.Code, name)
        iced = {ch for b, ch in bits.items() if ins.rflags_undefined & b}
        assert iced == set(f.undefined), (name, sorted(iced), f.undefined)
        checked += 1
    assert checked > 400
