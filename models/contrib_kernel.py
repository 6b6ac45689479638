"""The inner loop of models/contrib.py compiled with llvmlite (the optional ``fast`` extra), when it loads.

Per chunk of rows, every leaf's edge code is known; what remains is, for each leaf, row and path feature, one
table lookup added to the row's contribution to that feature: some 2e8 additions for the top 10,000 leads of
a 400-tree model. numpy does them in several passes over arrays of that size; this loop does them in one, about
5x faster. It is a dozen lines of LLVM IR compiled once per process (about 0.05 s) with llvmlite, which the
compiled predictor (models/compiled.py, lleaves) already needs: no new dependency. Where llvmlite does not load,
``kernel()`` returns None and models/contrib.py uses numpy; the sums are the same, in the same order.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from functools import cache

# out[r, feat[s]] += table[slot_table[s] + code[l, r]] for every leaf l, row r < R and slot s of leaf l
# (leaf l's slots are leaf_slot0[l] .. leaf_slot0[l + 1] - 1); ``out`` has F doubles per row
_IR = r"""
define void @tree_shap_sum(i64 %R, i64 %L, i32* noalias %code, i64* noalias %leaf_slot0, i64* noalias %slot_table,
                           i64* noalias %slot_feat, double* noalias %table, double* noalias %out, i64 %F) {
entry:
  br label %lhead
lhead:
  %l = phi i64 [0, %entry], [%l1, %lnext]
  %lmore = icmp slt i64 %l, %L
  br i1 %lmore, label %lbody, label %done
lbody:
  %l1 = add i64 %l, 1
  %s0p = getelementptr i64, i64* %leaf_slot0, i64 %l
  %s0 = load i64, i64* %s0p
  %s1p = getelementptr i64, i64* %leaf_slot0, i64 %l1
  %s1 = load i64, i64* %s1p
  %lR = mul i64 %l, %R
  br label %rhead
rhead:
  %r = phi i64 [0, %lbody], [%r1, %rnext]
  %rmore = icmp slt i64 %r, %R
  br i1 %rmore, label %rbody, label %lnext
rbody:
  %r1 = add i64 %r, 1
  %cp = getelementptr i32, i32* %code, i64 %lR
  %cp2 = getelementptr i32, i32* %cp, i64 %r
  %c32 = load i32, i32* %cp2
  %c = sext i32 %c32 to i64
  %rF = mul i64 %r, %F
  %orow = getelementptr double, double* %out, i64 %rF
  br label %shead
shead:
  %s = phi i64 [%s0, %rbody], [%sn, %sbody]
  %smore = icmp slt i64 %s, %s1
  br i1 %smore, label %sbody, label %rnext
sbody:
  %sn = add i64 %s, 1
  %tp = getelementptr i64, i64* %slot_table, i64 %s
  %t0 = load i64, i64* %tp
  %ti = add i64 %t0, %c
  %vp = getelementptr double, double* %table, i64 %ti
  %v = load double, double* %vp
  %fp = getelementptr i64, i64* %slot_feat, i64 %s
  %f = load i64, i64* %fp
  %op = getelementptr double, double* %orow, i64 %f
  %o = load double, double* %op
  %o2 = fadd double %o, %v
  store double %o2, double* %op
  br label %shead
rnext:
  br label %rhead
lnext:
  br label %lhead
done:
  ret void
}
"""

_ENGINES: list = []  # the execution engine owns the machine code: kept alive with the process


@cache
def kernel() -> Callable | None:
    """``tree_shap_sum(R, L, code, leaf_slot0, slot_table, slot_feat, table, out, F)`` (pointers as ints), or
    None where llvmlite does not load. ctypes releases the GIL while it runs, so threads run it side by side."""
    try:
        import llvmlite.binding as llvm

        llvm.initialize()
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        module = llvm.parse_assembly(_IR)
        module.verify()
        machine = llvm.Target.from_default_triple().create_target_machine(opt=3)
        engine = llvm.create_mcjit_compiler(module, machine)
        engine.finalize_object()
        address = engine.get_function_address("tree_shap_sum")
    except Exception:  # ImportError, or llvmlite failing to load its shared library: numpy does the sums
        return None
    _ENGINES.append(engine)
    ptr, i64 = ctypes.c_void_p, ctypes.c_int64
    return ctypes.CFUNCTYPE(None, i64, i64, ptr, ptr, ptr, ptr, ptr, ptr, i64)(address)
