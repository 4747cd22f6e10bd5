"""lit_bench.gpu_static reads ptxas and SASS listings right and its guard catches regressions."""

from __future__ import annotations

from lit_bench.gpu_static import GPUS, build_report, hot_loop, occupancy, parse_sass, regressions

MMA = "_ZN3lit12fused_detail9block_mmaIN3c108BFloat16ELi4EEEvNS0_6ParamsE"
PTXAS = f"""ptxas info    : Compiling entry function '{MMA}' for 'sm_90'
ptxas info    : Function properties for {MMA}
    0 bytes stack frame, 8 bytes spill stores, 4 bytes spill loads
ptxas info    : Used 130 registers, used 1 barriers
"""
SASS = f"""
	code for sm_90
		Function : {MMA}
	.headerflags	@"EF_CUDA_SM90 EF_CUDA_VIRTUAL_SM(EF_CUDA_SM90)"
        /*0000*/                   LDG.E R2, desc[UR4][R2.64] ;
        /*0010*/                   LDS R4, [R5] ;
        /*0020*/                   LDG.E.CONSTANT R6, desc[UR4][R6.64] ;
        /*0030*/                   HMMA.16816.F32.BF16 R8, R4, R6, R8 ;
        /*0040*/                   LDG.E.CONSTANT R7, desc[UR4][R6.64+0x10] ;
        /*0050*/                   HMMA.16816.F32.BF16 R12, R4, R7, R12 ;
        /*0060*/               @P0 BRA 0x10 ;
        /*0070*/              @!P1 BRA 0x0 ;
        /*0080*/                   EXIT ;
"""
SASS = SASS.replace("\tcode for sm_90", "arch = sm_90")


def test_parse_and_hot_loop_counts_the_innermost_loop():
    instrs = parse_sass(SASS)[("block_mma<bf16,4>", "90")]
    assert len(instrs) == 9
    loop = hot_loop(instrs)
    # the inner loop 0x10..0x60 (the outer 0x0..0x70 contains it): 2 LDG, 1 LDS, 2 HMMA
    assert (loop["start"], loop["end"]) == ("0x10", "0x60")
    assert (loop["global_loads"], loop["shared_loads"], loop["hmma"]) == (2, 1, 2)
    assert loop["global_loads_per_hmma"] == 1.0


def test_guard_flags_spills_registers_and_loads_per_hmma():
    report = build_report(PTXAS, SASS)
    k = report["kernels"]["block_mma<bf16,4> sm_90"]
    assert (k["registers"], k["spill_stores"], k["spill_loads"]) == (130, 8, 4)
    baseline = {"kernels": {"block_mma<bf16,4> sm_90": {"registers": 128, "hot_loop": {"global_loads_per_hmma": 0.5}}}}
    problems = regressions(report, baseline)
    assert len(problems) == 3
    assert "spills 8 B" in problems[0] and "130 registers, baseline 128" in problems[1]
    assert "1.0 global loads per HMMA, baseline 0.5" in problems[2]
    same = {"kernels": {"block_mma<bf16,4> sm_90": {"registers": 130, "hot_loop": {"global_loads_per_hmma": 1.0}}}}
    assert regressions(report, same) == problems[:1]  # a spill always fails


def test_occupancy_follows_registers_and_shared_memory():
    # 128 threads x 168 regs: 4 warps x 5376 regs → 12 warps by registers → 3 CTAs (H100)
    assert occupancy(167, 20000, 128, GPUS["H100"])["ctas_per_sm"] == 3
    assert occupancy(128, 20000, 128, GPUS["H100"])["ctas_per_sm"] == 4
    small_smem = occupancy(32, 100_000, 256, GPUS["A100"])  # 164 KB / (100 KB + 1 KB reserved)
    assert (small_smem["ctas_per_sm"], small_smem["limited_by"]) == (1, "shared memory")
