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
  %cstart = getelementptr i32, i32* %code, i64 %lR
  %tstart = getelementptr i64, i64* %slot_table, i64 %s0
  %tend = getelementptr i64, i64* %slot_table, i64 %s1
  %fstart = getelementptr i64, i64* %slot_feat, i64 %s0
  br label %rhead
rhead:
  %cp = phi i32* [%cstart, %lbody], [%cp1, %rnext]
  %orow = phi double* [%out, %lbody], [%orow1, %rnext]
  %rows = phi i64 [%R, %lbody], [%rows1, %rnext]
  %rmore = icmp sgt i64 %rows, 0
  br i1 %rmore, label %rbody, label %lnext
rbody:
  %c32 = load i32, i32* %cp
  %c = sext i32 %c32 to i64
  br label %shead
shead:
  %tp = phi i64* [%tstart, %rbody], [%tp1, %sbody]
  %fp = phi i64* [%fstart, %rbody], [%fp1, %sbody]
  %smore = icmp ult i64* %tp, %tend
  br i1 %smore, label %sbody, label %rnext
sbody:
  %t0 = load i64, i64* %tp
  %ti = add i64 %t0, %c
  %vp = getelementptr double, double* %table, i64 %ti
  %v = load double, double* %vp
  %f = load i64, i64* %fp
  %op = getelementptr double, double* %orow, i64 %f
  %o = load double, double* %op
  %o2 = fadd double %o, %v
  store double %o2, double* %op
  %tp1 = getelementptr i64, i64* %tp, i64 1
  %fp1 = getelementptr i64, i64* %fp, i64 1
  br label %shead
rnext:
  %cp1 = getelementptr i32, i32* %cp, i64 1
  %orow1 = getelementptr double, double* %orow, i64 %F
  %rows1 = sub i64 %rows, 1
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
