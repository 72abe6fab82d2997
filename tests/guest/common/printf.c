/* Minimal printf: %d %i %u %x %X %o %c %s %p %%, flags '-' '0', width and
 * precision (also as '*'; precision only for %s), length modifiers l ll z. */
#include "runtime.h"

struct out {
    char *buf;          /* NULL: write to the UART */
    unsigned long cap, len;
};

static void out_c(struct out *o, char c)
{
    if (o->buf) {
        if (o->len + 1 < o->cap)
            o->buf[o->len] = c;
    } else {
        if (c == '\n')
            uart_putc('\r');
        uart_putc(c);
    }
    o->len++;
}

static void out_pad(struct out *o, char c, int n)
{
    while (n-- > 0)
        out_c(o, c);
}

static int fmt_core(struct out *o, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            out_c(o, *fmt);
            continue;
        }
        fmt++;
        int left = 0, zero = 0, width = 0, prec = -1, lng = 0;
        for (;; fmt++) {
            if (*fmt == '-') left = 1;
            else if (*fmt == '0') zero = 1;
            else break;
        }
        if (*fmt == '*') {
            width = va_arg(ap, int);
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        if (*fmt == '.') {
            fmt++;
            prec = 0;
            if (*fmt == '*') {
                prec = va_arg(ap, int);
                fmt++;
            }
            while (*fmt >= '0' && *fmt <= '9')
                prec = prec * 10 + (*fmt++ - '0');
        }
        while (*fmt == 'l' || *fmt == 'z') {
            lng = 1;
            fmt++;
        }
        char tmp[24];
        int n = 0, neg = 0;
        unsigned long v;
        unsigned base = 10;
        const char *digits = "0123456789abcdef";
        switch (*fmt) {
        case 'c':
            tmp[n++] = (char)va_arg(ap, int);
            goto emit_tmp;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            int l = 0;
            while (s[l] && (prec < 0 || l < prec))
                l++;
            if (!left) out_pad(o, ' ', width - l);
            for (int i = 0; i < l; i++)
                out_c(o, s[i]);
            if (left) out_pad(o, ' ', width - l);
            continue;
        }
        case 'd': case 'i': {
            long sv = lng ? va_arg(ap, long) : va_arg(ap, int);
            if (sv < 0) { neg = 1; v = -(unsigned long)sv; } else v = (unsigned long)sv;
            goto num;
        }
        case 'p':
            v = (unsigned long)va_arg(ap, void *);
            base = 16;
            out_c(o, '0');
            out_c(o, 'x');
            goto num;
        case 'X':
            digits = "0123456789ABCDEF";
            /* fallthrough */
        case 'x': base = 16; goto unum;
        case 'o': base = 8; goto unum;
        case 'u':
        unum:
            v = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
        num:
            do {
                tmp[n++] = digits[v % base];
                v /= base;
            } while (v);
            if (neg) {
                if (zero && !left) {
                    out_c(o, '-');
                    width--;
                } else
                    tmp[n++] = '-';
            }
        emit_tmp:
            if (!left) out_pad(o, zero ? '0' : ' ', width - n);
            for (int i = n - 1; i >= 0; i--)
                out_c(o, tmp[i]);
            if (left) out_pad(o, ' ', width - n);
            continue;
        case '%':
            out_c(o, '%');
            continue;
        case 0:
            return (int)o->len;
        default:
            out_c(o, '%');
            out_c(o, *fmt);
            continue;
        }
    }
    return (int)o->len;
}

int kvprintf(const char *fmt, va_list ap)
{
    struct out o = { 0, 0, 0 };
    return fmt_core(&o, fmt, ap);
}

int kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = kvprintf(fmt, ap);
    va_end(ap);
    return r;
}

int ksnprintf(char *buf, unsigned long n, const char *fmt, ...)
{
    struct out o = { buf, n, 0 };
    va_list ap;
    va_start(ap, fmt);
    fmt_core(&o, fmt, ap);
    va_end(ap);
    if (n)
        buf[o.len < n ? o.len : n - 1] = 0;
    return (int)o.len;
}
