/* CSR access helpers and bit definitions (privileged spec 1.12). */
#ifndef CSR_H
#define CSR_H

#define STR_(x) #x
#define STR(x) STR_(x)

#define csr_read(csr) ({ unsigned long __v; \
    __asm__ volatile("csrr %0, " STR(csr) : "=r"(__v) :: "memory"); __v; })
#define csr_write(csr, val) ({ unsigned long __v = (unsigned long)(val); \
    __asm__ volatile("csrw " STR(csr) ", %0" :: "rK"(__v) : "memory"); })
#define csr_swap(csr, val) ({ unsigned long __v = (unsigned long)(val); \
    __asm__ volatile("csrrw %0, " STR(csr) ", %1" : "=r"(__v) : "rK"(__v) : "memory"); __v; })
#define csr_set(csr, val) ({ unsigned long __v = (unsigned long)(val); \
    __asm__ volatile("csrs " STR(csr) ", %0" :: "rK"(__v) : "memory"); })
#define csr_clear(csr, val) ({ unsigned long __v = (unsigned long)(val); \
    __asm__ volatile("csrc " STR(csr) ", %0" :: "rK"(__v) : "memory"); })

/* CSRs the assembler may not know by name. */
#define CSR_MENVCFG   0x30a
#define CSR_SENVCFG   0x10a
#define CSR_STIMECMP  0x14d
#define CSR_MCOUNTINHIBIT 0x320

#define PRV_U 0
#define PRV_S 1
#define PRV_M 3

#define MSTATUS_SIE   (1UL << 1)
#define MSTATUS_MIE   (1UL << 3)
#define MSTATUS_SPIE  (1UL << 5)
#define MSTATUS_UBE   (1UL << 6)
#define MSTATUS_MPIE  (1UL << 7)
#define MSTATUS_SPP   (1UL << 8)
#define MSTATUS_MPP   (3UL << 11)
#define MSTATUS_MPP_SHIFT 11
#define MSTATUS_FS    (3UL << 13)
#define MSTATUS_MPRV  (1UL << 17)
#define MSTATUS_SUM   (1UL << 18)
#define MSTATUS_MXR   (1UL << 19)
#define MSTATUS_TVM   (1UL << 20)
#define MSTATUS_TW    (1UL << 21)
#define MSTATUS_TSR   (1UL << 22)
#define MSTATUS_UXL   (3UL << 32)
#define MSTATUS_SXL   (3UL << 34)

#define SSTATUS_SIE   MSTATUS_SIE
#define SSTATUS_SPIE  MSTATUS_SPIE
#define SSTATUS_SPP   MSTATUS_SPP

/* interrupt numbers (mip/mie bit positions, mcause codes) */
#define IRQ_S_SOFT  1
#define IRQ_M_SOFT  3
#define IRQ_S_TIMER 5
#define IRQ_M_TIMER 7
#define IRQ_S_EXT   9
#define IRQ_M_EXT   11
#define MIP_SSIP (1UL << IRQ_S_SOFT)
#define MIP_MSIP (1UL << IRQ_M_SOFT)
#define MIP_STIP (1UL << IRQ_S_TIMER)
#define MIP_MTIP (1UL << IRQ_M_TIMER)
#define MIP_SEIP (1UL << IRQ_S_EXT)
#define MIP_MEIP (1UL << IRQ_M_EXT)

#define CAUSE_INTR (1UL << 63)

/* exception codes */
#define EXC_INSN_MISALIGNED   0
#define EXC_INSN_ACCESS       1
#define EXC_ILLEGAL           2
#define EXC_BREAKPOINT        3
#define EXC_LOAD_MISALIGNED   4
#define EXC_LOAD_ACCESS       5
#define EXC_STORE_MISALIGNED  6
#define EXC_STORE_ACCESS      7
#define EXC_ECALL_U           8
#define EXC_ECALL_S           9
#define EXC_ECALL_M           11
#define EXC_INSN_PAGE_FAULT   12
#define EXC_LOAD_PAGE_FAULT   13
#define EXC_STORE_PAGE_FAULT  15

#define MENVCFG_STCE (1UL << 63)

#define SATP_MODE_SV39 (8UL << 60)

#endif
