/* Constants shared by assembly and C. */
#ifndef RUNTIME_ASM_H
#define RUNTIME_ASM_H

#define FRAME_EPC     256
#define FRAME_CAUSE   264
#define FRAME_TVAL    272
#define FRAME_STATUS  280
#define FRAME_VEC     288
#define FRAME_SIZE    304

#define MAGIC_RET     0x5e7
#define MAGIC_SFAIL   0x5e8

#define MSTATUS_SIE_BIT   0x2
#define MSTATUS_MIE_BIT   0x8
#define MSTATUS_SPP_BIT   0x100
#define MSTATUS_MPP_MASK  0x1800

#endif
