/*
 * bench: a deterministic, CPU-bound integer benchmark for deja (about 700
 * million RV64IMAC instructions).  Mixed kernels: ALU mixing, multiply and
 * divide, strided array walks and pointer chasing, an open-addressing hash
 * table, memcpy/memcmp-style loops, sorting, a bytecode interpreter and a
 * bitwise CRC (branch heavy).  No floating point, no interrupts.
 *
 * Prints "bench checksum 0x<16 hex digits>" and "instret <minstret>"
 * (instructions retired since reset; QEMU reports instructions only with
 * -icount shift=0, it counts 2^shift per instruction otherwise), then
 * powers off through sifive_test with exit status 0.
 */
#include "runtime.h"

#define ROUNDS 20

static u64 rng_state;
static u64 rng(void)
{
    u64 x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static u64 rotl(u64 x, int r) { return (x << r) | (x >> (64 - r)); }

/* ---- 1. ALU mixing ---- */
static NOINLINE u64 k_alu(u64 seed, int n)
{
    u64 a = seed, b = seed ^ 0x9e3779b97f4a7c15UL, c = 0x0123456789abcdefUL;
    for (int i = 0; i < n; i++) {
        a += b;
        b ^= rotl(a, 13);
        c -= a >> 3;
        a ^= c << 7;
        b += (u32)a ^ (u32)(c >> 32);
        c = rotl(c, 29) + (i & 7);
        a = (a & 0xffff0000ffff0000UL) | (~b & 0x0000ffff0000ffffUL);
        if ((i64)c < 0)
            c ^= 0x5555;
    }
    return a ^ b ^ c;
}

/* ---- 2. multiply / divide ---- */
static NOINLINE u64 k_mul(u64 seed, int n)
{
    u64 h = seed | 1, acc = 0;
    const u64 p = 0xffffffff00000001UL;     /* Goldilocks prime */
    for (int i = 0; i < n; i++) {
        u64 lo = h * 0x9e3779b97f4a7c15UL;
        u64 hi = (u64)(((unsigned __int128)h * 0xd6e8feb86659fd93UL) >> 64);
        h = lo ^ hi;
        acc += (u32)h * (u64)(u32)(h >> 32);
        if ((i & 15) == 0)
            acc ^= h % p + (h / ((i | 1) + 7));
        i32 s = (i32)h;
        acc += (u64)(s / ((i & 31) + 1)) + (u64)(s % 13);
    }
    return acc ^ h;
}

/* ---- 3. array walks and pointer chasing ---- */
#define WALK_N (64 * 1024)
static u32 walk_arr[WALK_N];
static u32 chase_next[WALK_N];

static void init_walk(void)
{
    for (u32 i = 0; i < WALK_N; i++) {
        walk_arr[i] = (u32)rng();
        chase_next[i] = i;
    }
    /* Sattolo's algorithm: one cycle through all entries */
    for (u32 i = WALK_N - 1; i > 0; i--) {
        u32 j = (u32)(rng() % i);
        u32 t = chase_next[i];
        chase_next[i] = chase_next[j];
        chase_next[j] = t;
    }
}

static NOINLINE u64 k_walk(u64 seed, int passes)
{
    u64 sum = seed;
    for (int p = 0; p < passes; p++) {
        u32 stride = 1 + 2 * (u32)p % 17;
        for (u32 i = 0, k = 0; i < WALK_N; i++, k = (k + stride) & (WALK_N - 1))
            sum += walk_arr[k] ^ i;
        u32 at = (u32)sum & (WALK_N - 1);
        for (u32 i = 0; i < WALK_N / 2; i++) {
            at = chase_next[at];
            sum += at;
        }
    }
    return sum;
}

/* ---- 4. hash table (open addressing, linear probing) ---- */
#define HT_SIZE 8192
static u64 ht_key[HT_SIZE];
static u32 ht_val[HT_SIZE];

static NOINLINE u64 k_hash(u64 seed, int nkeys)
{
    for (int i = 0; i < HT_SIZE; i++)
        ht_key[i] = 0;
    u64 x = seed | 1, found = 0;
    for (int i = 0; i < nkeys; i++) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        u64 key = (x >> 16) | 1;
        u32 h = (u32)((key * 0x9e3779b97f4a7c15UL) >> 51);
        while (ht_key[h] && ht_key[h] != key)
            h = (h + 1) & (HT_SIZE - 1);
        ht_key[h] = key;
        ht_val[h] = (u32)i;
    }
    x = seed | 1;
    for (int i = 0; i < 2 * nkeys; i++) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        u64 key = ((i & 1) ? (x >> 16) : (x >> 15)) | 1;
        u32 h = (u32)((key * 0x9e3779b97f4a7c15UL) >> 51);
        while (ht_key[h]) {
            if (ht_key[h] == key) {
                found += ht_val[h] + 1;
                break;
            }
            h = (h + 1) & (HT_SIZE - 1);
        }
    }
    return found;
}

/* ---- 5. memcpy / memcmp style loops ---- */
#define MEM_N 8192
static u8 src[MEM_N] ALIGNED(64);
static u8 dst[MEM_N + 16] ALIGNED(64);

static NOINLINE u64 k_mem(u64 seed, int reps)
{
    u64 acc = 0;
    for (int i = 0; i < MEM_N; i += 8)
        *(u64 *)(src + i) = rng() ^ seed;
    for (int r = 0; r < reps; r++) {
        /* word copy */
        const u64 *s8 = (const u64 *)src;
        u64 *d8 = (u64 *)dst;
        for (int i = 0; i < MEM_N / 8; i++)
            d8[i] = s8[i];
        /* byte copy at an odd offset */
        volatile u8 *d1 = dst + 1 + (r & 7);
        for (int i = 0; i < MEM_N / 4; i++)
            d1[i] = src[i] + (u8)r;
        /* compare */
        int diff = 0;
        for (int i = 0; i < MEM_N / 4; i++)
            if (dst[i] != src[i]) {
                diff = i;
                break;
            }
        acc += (u64)diff + dst[r & (MEM_N - 1)];
        /* byte-wise checksum (Fletcher) */
        u32 s1 = 1, s2 = 0;
        for (int i = 0; i < MEM_N / 2; i++) {
            s1 += dst[i];
            s2 += s1;
        }
        acc += ((u64)s2 << 16) | (s1 & 0xffff);
    }
    return acc;
}

/* ---- 6. sorting ---- */
#define SORT_N 4096
static u32 sort_a[SORT_N];
static u32 sort_tmp[SORT_N];

static void quicksort(u32 *a, int lo, int hi)
{
    while (hi - lo > 16) {
        u32 p = a[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < p) i++;
            while (a[j] > p) j--;
            if (i <= j) {
                u32 t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        if (j - lo < hi - i) {
            quicksort(a, lo, j);
            lo = i;
        } else {
            quicksort(a, i, hi);
            hi = j;
        }
    }
    for (int i = lo + 1; i <= hi; i++) {
        u32 v = a[i];
        int j = i - 1;
        while (j >= lo && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static void mergesort(u32 *a, u32 *t, int n)
{
    for (int w = 1; w < n; w *= 2) {
        for (int lo = 0; lo < n; lo += 2 * w) {
            int mid = lo + w < n ? lo + w : n;
            int hi = lo + 2 * w < n ? lo + 2 * w : n;
            int i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                t[k++] = a[i] <= a[j] ? a[i++] : a[j++];
            while (i < mid)
                t[k++] = a[i++];
            while (j < hi)
                t[k++] = a[j++];
        }
        for (int i = 0; i < n; i++)
            a[i] = t[i];
    }
}

static NOINLINE u64 k_sort(u64 seed, int which)
{
    for (int i = 0; i < SORT_N; i++)
        sort_a[i] = (u32)(rng() >> 20) ^ (u32)seed;
    if (which)
        mergesort(sort_a, sort_tmp, SORT_N);
    else
        quicksort(sort_a, 0, SORT_N - 1);
    u64 acc = 0;
    for (int i = 0; i < SORT_N; i++) {
        acc = acc * 31 + sort_a[i];
        if (i && sort_a[i - 1] > sort_a[i])
            acc ^= 0xbad;               /* never, if sorted */
    }
    return acc;
}

/* ---- 7. bytecode interpreter (branch heavy) ---- */
enum { OP_PUSH, OP_ADD, OP_SUB, OP_MUL, OP_XOR, OP_DUP, OP_SWAP, OP_JNZ, OP_DEC, OP_SHR, OP_POP, OP_HALT };
static const u8 program[] = {
    OP_PUSH, 0, OP_PUSH, 200,                       /* acc, counter */
    /* loop: */
    OP_SWAP, OP_DUP, OP_PUSH, 3, OP_MUL, OP_XOR, OP_PUSH, 7, OP_ADD,
    OP_DUP, OP_PUSH, 5, OP_SHR, OP_XOR,
    OP_SWAP, OP_DEC, OP_DUP, OP_JNZ, 4,
    OP_POP, OP_HALT,
};

static NOINLINE u64 k_interp(u64 seed, int runs)
{
    u64 total = 0;
    for (int r = 0; r < runs; r++) {
        u64 stack[16];
        int sp = 0, pc = 0;
        for (;;) {
            u8 op = program[pc++];
            switch (op) {
            case OP_PUSH: stack[sp++] = program[pc++] + (u64)r; break;
            case OP_ADD: sp--; stack[sp - 1] += stack[sp]; break;
            case OP_SUB: sp--; stack[sp - 1] -= stack[sp]; break;
            case OP_MUL: sp--; stack[sp - 1] *= stack[sp]; break;
            case OP_XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
            case OP_DUP: stack[sp] = stack[sp - 1]; sp++; break;
            case OP_SWAP: { u64 t = stack[sp - 1]; stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = t; break; }
            case OP_JNZ: { u8 tgt = program[pc++]; if (stack[--sp]) pc = tgt; break; }
            case OP_DEC: stack[sp - 1] = (stack[sp - 1] & 0xff) - 1; break;
            case OP_SHR: sp--; stack[sp - 1] >>= (stack[sp] & 63); break;
            case OP_POP: sp--; break;
            default: goto done;
            }
        }
    done:
        total += stack[0] ^ seed;
    }
    return total;
}

/* ---- 8. bitwise CRC-32 and Collatz (data-dependent branches) ---- */
static NOINLINE u64 k_branchy(u64 seed, int n)
{
    u32 crc = 0xffffffffu;
    for (int i = 0; i < n; i++) {
        u8 b = (u8)(seed >> (8 * (i & 7))) ^ (u8)i;
        crc ^= b;
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
    }
    u64 steps = 0;
    for (u64 v = 1 + (seed & 0xff); v < 1 + (seed & 0xff) + (u64)n / 16; v++) {
        u64 x = v;
        while (x != 1) {
            x = (x & 1) ? 3 * x + 1 : x >> 1;
            steps++;
        }
    }
    return ((u64)~crc << 32) ^ steps;
}

int main(void)
{
    kprintf("bench: deja integer benchmark, %d rounds\n", ROUNDS);
    rng_state = 0x243f6a8885a308d3UL;
    init_walk();
    u64 sum = 0;
    for (int r = 0; r < ROUNDS; r++) {
        u64 seed = rng();
        sum = rotl(sum, 5) ^ k_alu(seed, 200000);
        sum = rotl(sum, 5) ^ k_mul(seed, 120000);
        sum = rotl(sum, 5) ^ k_walk(seed, 4);
        for (int k = 0; k < 4; k++)
            sum = rotl(sum, 5) ^ k_hash(seed + (u64)k, 5000);
        sum = rotl(sum, 5) ^ k_mem(seed, 60);
        for (int k = 0; k < 4; k++)
            sum = rotl(sum, 5) ^ k_sort(seed, k & 1);
        sum = rotl(sum, 5) ^ k_interp(seed, 200);
        sum = rotl(sum, 5) ^ k_branchy(seed, 40000);
    }
    u64 n = csr_read(minstret);
    kprintf("bench checksum 0x%016lx\n", sum);
    kprintf("instret %lu\n", n);
    poweroff_pass();
}
