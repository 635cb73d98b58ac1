/* Kernels that write values as text into byte buffers (see casslink/kernels.py).
 *
 * Every kernel walks n items: item i takes its value from row rows[i] of a column and writes
 * it at byte base[i] + start of a flat byte buffer. Arrays arrive through the buffer protocol
 * (casslink.kernels passes contiguous numpy arrays of the right dtype); every index is checked
 * against its buffer, so a wrong argument is an IndexError, never a stray write. The GIL is
 * released while a kernel runs, so several threads fill blocks at once.
 *
 * An empty validity buffer means every row is valid.
 *
 * Return values: -1 done; i >= 0 item i holds a value the field cannot hold; -2 an index out
 * of range (the wrapper raises).
 *
 * Besides: format_rows (rows of text from a program of operations), zip_archive (a zip
 * archive of deflated entries; it holds the GIL, its work is a few small copies),
 * first_index (a hash join of int64 keys), digit_values (digit strings as numbers) and
 * radix_order (the stable order of non-negative int64 keys).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define OUT_OF_RANGE (-2)

static void release(Py_buffer *views[], int n) {
    for (int i = 0; i < n; i++)
        if (views[i]->obj) PyBuffer_Release(views[i]);
}

#define N_OF(view, type) ((Py_ssize_t)((view).len / (Py_ssize_t)sizeof(type)))

static const char PAIRS[] =  /* "00" .. "99": two digits per division */
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* v as exactly length digits, zero-filled on the left (the caller checks v < 10^length). */
static inline void put_fixed(uint8_t *dst, uint64_t v, Py_ssize_t length) {
    Py_ssize_t k = length;
    while (k >= 2 && v) {
        uint64_t q = v / 100;
        memcpy(dst + k - 2, PAIRS + 2 * (v - q * 100), 2);
        v = q;
        k -= 2;
    }
    if (k == 1) {
        dst[0] = (uint8_t)('0' + v % 10);
        return;
    }
    for (; k >= 2; k -= 2) memcpy(dst + k - 2, "00", 2);  /* the zero fill: a few stores, */
    if (k) dst[0] = '0';                                  /* not a call to memset */
}

/* n bytes from src to dst (no overlap) without a call for the short copies of row rendering:
 * overlapping loads, then stores, of 8 (or 4) bytes; nothing read or written outside. */
static inline void copy_short(uint8_t *dst, const uint8_t *src, size_t n) {
    uint64_t a, b, e, f;
    uint32_t c, d;
    if (n > 16 && n <= 32) {
        memcpy(&a, src, 8);
        memcpy(&b, src + 8, 8);
        memcpy(&e, src + n - 16, 8);
        memcpy(&f, src + n - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + 8, &b, 8);
        memcpy(dst + n - 16, &e, 8);
        memcpy(dst + n - 8, &f, 8);
    } else if (n >= 8 && n <= 16) {
        memcpy(&a, src, 8);
        memcpy(&b, src + n - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        memcpy(&c, src, 4);
        memcpy(&d, src + n - 4, 4);
        memcpy(dst, &c, 4);
        memcpy(dst + n - 4, &d, 4);
    } else if (n < 4) {
        for (size_t i = 0; i < n; i++) dst[i] = src[i];
    } else {
        memcpy(dst, src, n);
    }
}

static int64_t pow10_limit(Py_ssize_t length) {
    int64_t limit = 1;
    for (Py_ssize_t k = 0; k < length && k < 18; k++) limit *= 10;
    return limit;
}

/* put_bytes(buf, base, start, value) */
static PyObject *put_bytes(PyObject *self, PyObject *args) {
    Py_buffer buf = {0}, base = {0}, value = {0};
    Py_ssize_t start;
    if (!PyArg_ParseTuple(args, "w*y*ny*", &buf, &base, &start, &value)) return NULL;
    Py_buffer *views[] = {&buf, &base, &value};
    uint8_t *out = buf.buf;
    const int64_t *at = base.buf;
    const uint8_t *v = value.buf;
    Py_ssize_t n = N_OF(base, int64_t), width = value.len, size = buf.len;
    long rc = -1;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t p = at[i] + start;
        if (p < 0 || p + width > size) { rc = OUT_OF_RANGE; break; }
        copy_short(out + p, v, (size_t)width);
    }
    Py_END_ALLOW_THREADS
    release(views, 3);
    return PyLong_FromLong(rc);
}

/* (year, month, day) of days since 1970-01-01: H. Hinnant's civil_from_days */
static void civil(int64_t days, int64_t *y, int64_t *m, int64_t *d) {
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

enum { PUT_DIGITS, PUT_MINUS, PUT_RATE, PUT_DATE };

/* put_values(kind, buf, base, start, length, rows, values, valid, absolute, blank_null):
 * row rows[i]'s value at base[i] + start, as
 *   PUT_DIGITS  zero-filled `length` digits (null rows blank if blank_null, else zeros;
 *               `absolute` writes the magnitude); a negative or too long value stops it;
 *   PUT_MINUS   '-' where the value is negative;
 *   PUT_RATE    nnnnn.nnnnn from the value x 100000 (null blank); out of range stops it;
 *   PUT_DATE    YYMMDD from days since 1970-01-01 (null blank).
 * An empty valid buffer means every row is valid. */
static PyObject *put_values(PyObject *self, PyObject *args) {
    Py_buffer buf = {0}, base = {0}, rows = {0}, values = {0}, valid = {0};
    Py_ssize_t start, length;
    int kind, absolute, blank_null;
    if (!PyArg_ParseTuple(args, "iw*y*nny*y*y*pp", &kind, &buf, &base, &start, &length, &rows,
                          &values, &valid, &absolute, &blank_null)) return NULL;
    Py_buffer *views[] = {&buf, &base, &rows, &values, &valid};
    uint8_t *out = buf.buf;
    const int64_t *at = base.buf, *row = rows.buf, *val = values.buf;
    const uint8_t *ok = valid.buf;
    Py_ssize_t n = N_OF(base, int64_t), m = N_OF(values, int64_t), size = buf.len;
    Py_ssize_t width = kind == PUT_DIGITS ? length : kind == PUT_MINUS ? 1
                       : kind == PUT_RATE ? 11 : 6;
    int64_t limit = pow10_limit(length);
    int all_valid = valid.len == 0;
    long rc = -1;
    if (N_OF(rows, int64_t) < n || (!all_valid && valid.len < m) || kind < PUT_DIGITS
        || kind > PUT_DATE) rc = OUT_OF_RANGE;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n && rc == -1; i++) {
        int64_t r = row[i], p = at[i] + start, v = 0, y, mo, d;
        if (r < 0 || r >= m || p < 0 || p + width > size) { rc = OUT_OF_RANGE; break; }
        int present = all_valid || ok[r];
        switch (kind) {
        case PUT_DIGITS:
            if (present) {
                v = val[r];
                if (absolute && v < 0 && v != INT64_MIN) v = -v;
            } else if (blank_null) {
                continue;
            }
            if (v < 0 || v >= limit) { rc = (long)i; break; }
            put_fixed(out + p, (uint64_t)v, length);
            break;
        case PUT_MINUS:
            if (present && val[r] < 0) out[p] = '-';
            break;
        case PUT_RATE:
            if (!present) continue;
            v = val[r];
            if (v < 0 || v >= 10000000000LL) { rc = (long)i; break; }
            put_fixed(out + p, (uint64_t)(v / 100000), 5);
            out[p + 5] = '.';
            put_fixed(out + p + 6, (uint64_t)(v % 100000), 5);
            break;
        case PUT_DATE:
            if (!present) continue;
            civil(val[r], &y, &mo, &d);
            v = ((y % 100) + 100) % 100 * 10000 + mo * 100 + d;
            put_fixed(out + p, (uint64_t)v, 6);
            break;
        }
    }
    Py_END_ALLOW_THREADS
    release(views, 5);
    return PyLong_FromLong(rc);
}

/* put_texts(buf, base, start, length, rows, entries, offsets, data): strings cut to length,
 * row r's string data[offsets[e]:offsets[e + 1]] (int32 offsets, as Arrow's) with
 * e = entries[r] (int32, as Arrow's dictionary indices; null where e < 0), or e = r where
 * entries is empty.
 * The rest of the field is left as it is (blank). Returns the first item with a non-ASCII
 * byte. */
static PyObject *put_texts(PyObject *self, PyObject *args) {
    Py_buffer buf = {0}, base = {0}, rows = {0}, entries = {0}, offsets = {0}, data = {0};
    Py_ssize_t start, length;
    if (!PyArg_ParseTuple(args, "w*y*nny*y*y*y*", &buf, &base, &start, &length, &rows,
                          &entries, &offsets, &data)) return NULL;
    Py_buffer *views[] = {&buf, &base, &rows, &entries, &offsets, &data};
    uint8_t *out = buf.buf;
    const int64_t *at = base.buf, *row = rows.buf;
    const int32_t *off = offsets.buf, *ent = entries.buf;
    const uint8_t *src = data.buf;
    int identity = entries.len == 0;  /* no entries given: row r is string r */
    Py_ssize_t k_off = N_OF(offsets, int32_t), size = buf.len, dlen = data.len;
    Py_ssize_t n = N_OF(base, int64_t), m = identity ? k_off - 1 : N_OF(entries, int32_t);
    long rc = -1;
    if (N_OF(rows, int64_t) < n) rc = OUT_OF_RANGE;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n && rc == -1; i++) {
        int64_t r = row[i], p = at[i] + start;
        if (r < 0 || r >= m || p < 0 || p + length > size) { rc = OUT_OF_RANGE; break; }
        int64_t e = identity ? r : ent[r];
        if (e < 0) continue;
        if (e + 1 >= k_off) { rc = OUT_OF_RANGE; break; }
        int64_t lo = off[e], hi = off[e + 1];
        if (lo < 0 || hi < lo || hi > dlen) { rc = OUT_OF_RANGE; break; }
        int64_t len = hi - lo < length ? hi - lo : length;
        for (int64_t k = 0; k < len; k++) {
            uint8_t c = src[lo + k];
            if (c >= 128) { rc = (long)i; break; }
            out[p + k] = c;
        }
    }
    Py_END_ALLOW_THREADS
    release(views, 6);
    return PyLong_FromLong(rc);
}

/* --- format_rows: rows of text from a program of operations ----------------------------- */

enum { OP_LIT, OP_INT, OP_DEC, OP_STR, OP_IF };

typedef struct {
    int kind;
    const uint8_t *bytes;  /* OP_LIT: the literal; OP_STR: string data */
    Py_ssize_t len;        /* OP_LIT: its length; OP_STR: data length */
    const int64_t *values; /* OP_INT/OP_DEC: values */
    const int32_t *entries; /* OP_STR: entries (NULL: row r is string r) */
    const int32_t *offsets;
    const uint8_t *flags;  /* OP_IF */
    Py_ssize_t count;      /* rows the arrays hold (checked against n) */
    int digits, escape, skip, negate;
} Op;

static int64_t pow10s[19] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
    100000000, 1000000000, 10000000000LL, 100000000000LL, 1000000000000LL,
    10000000000000LL, 100000000000000LL, 1000000000000000LL, 10000000000000000LL,
    100000000000000000LL, 1000000000000000000LL};

static int count_digits(uint64_t u) {
    int d = 1;
    while (d < 19 && u >= (uint64_t)pow10s[d]) d++;
    return d == 19 && u >= 10000000000000000000ULL ? 20 : d;
}

/* The text of a fixed-point value (digits after the point), or of an integer (digits 0). */
static uint8_t *dec_write(uint8_t *out, int64_t v, int digits) {
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint64_t whole = u / (uint64_t)pow10s[digits], frac = u % (uint64_t)pow10s[digits];
    if (v < 0) *out++ = '-';
    int d = count_digits(whole);
    put_fixed(out, whole, d);
    out += d;
    if (digits) {
        *out++ = '.';
        put_fixed(out, frac, digits);
        out += digits;
    }
    return out;
}

static const char *entity(uint8_t c) {
    switch (c) {
        case '&': return "&amp;";
        case '<': return "&lt;";
        case '>': return "&gt;";
        case '"': return "&quot;";
        default: return NULL;
    }
}

static const uint8_t SPECIAL[256] = {['&'] = 1, ['<'] = 1, ['>'] = 1, ['"'] = 1};
#define ENTITY_MAX 6   /* the longest entity, &quot; */
#define NUMBER_MAX 40  /* sign, 19 digits, point, 18 decimals (and some to spare) */

/* Bytes of row r's string (escaped if asked); -1 when an index is out of range. */
static Py_ssize_t str_span(const Op *op, Py_ssize_t r, Py_ssize_t *lo, Py_ssize_t *hi) {
    int64_t e = op->entries ? op->entries[r] : r;
    if (e < 0) { *lo = *hi = 0; return 0; }
    if (e + 1 >= op->count) return -1;
    *lo = op->offsets[e];
    *hi = op->offsets[e + 1];
    if (*lo < 0 || *hi < *lo || *hi > op->len) return -1;
    return *hi - *lo;
}

/* At most how long row r is (every operation counted, skipped or not): ``fixed`` (the
 * literals and numbers) plus its strings, escaped at worst; -1 on an index out of range. */
static Py_ssize_t row_bound(const Op *ops, Py_ssize_t n_ops, Py_ssize_t r, Py_ssize_t fixed) {
    Py_ssize_t total = fixed, lo, hi;
    for (Py_ssize_t j = 0; j < n_ops; j++) {
        if (ops[j].kind != OP_STR) continue;
        if (str_span(&ops[j], r, &lo, &hi) < 0) return -1;
        total += (hi - lo) * (ops[j].escape ? ENTITY_MAX : 1);
    }
    return total;
}

/* Write row r at out (room for row_bound bytes); returns its length. */
static Py_ssize_t run_ops(const Op *ops, Py_ssize_t n_ops, Py_ssize_t r, uint8_t *write) {
    uint8_t *out = write;
    for (Py_ssize_t j = 0; j < n_ops; j++) {
        const Op *op = &ops[j];
        switch (op->kind) {
        case OP_LIT:
            copy_short(out, op->bytes, (size_t)op->len);
            out += op->len;
            break;
        case OP_INT:
        case OP_DEC:
            out = dec_write(out, op->values[r], op->digits);
            break;
        case OP_STR: {
            Py_ssize_t lo = 0, hi = 0;
            str_span(op, r, &lo, &hi);  /* checked by row_bound */
            const uint8_t *b = op->bytes;
            if (!op->escape) {
                copy_short(out, b + lo, (size_t)(hi - lo));
                out += hi - lo;
                break;
            }
            while (lo < hi) {  /* runs of plain bytes, an entity after each */
                Py_ssize_t k = lo;
                while (k < hi && !SPECIAL[b[k]]) k++;
                copy_short(out, b + lo, (size_t)(k - lo));
                out += k - lo;
                if (k < hi) {
                    const char *ent = entity(b[k++]);
                    size_t el = strlen(ent);
                    memcpy(out, ent, el);
                    out += el;
                }
                lo = k;
            }
            break;
        }
        case OP_IF:
            if ((op->flags[r] != 0) == (op->negate != 0)) j += op->skip;
            break;
        }
    }
    return out - write;
}

static void release_ops(Py_buffer *views, Py_ssize_t n_views) {
    for (Py_ssize_t i = 0; i < n_views; i++)
        if (views[i].obj) PyBuffer_Release(&views[i]);
}

/* format_rows(n, ops, offsets) -> bytearray. ops: tuples
 *   ("lit", bytes) | ("int", int64[n]) | ("dec", int64[n], digits)
 *   | ("str", entries int32[n] or empty, int32 offsets, data, escape)
 *   | ("if", uint8[n], skip, negate): unless flags[r] (or, negated, unless not flags[r])
 *     skip the next `skip` operations.
 * offsets (int64[n + 1], filled): where each row starts in the result. */
static PyObject *format_rows(PyObject *self, PyObject *args) {
    Py_ssize_t n;
    PyObject *ops_list;
    Py_buffer out_off = {0};
    if (!PyArg_ParseTuple(args, "nO!w*", &n, &PyList_Type, &ops_list, &out_off)) return NULL;
    Py_ssize_t n_ops = PyList_GET_SIZE(ops_list);
    Op *ops = PyMem_Calloc(n_ops ? n_ops : 1, sizeof(Op));
    Py_buffer *views = PyMem_Calloc(3 * (n_ops ? n_ops : 1), sizeof(Py_buffer));
    PyObject *result = NULL;
    if (!ops || !views) { PyErr_NoMemory(); goto done; }
    if (N_OF(out_off, int64_t) < n + 1) {
        PyErr_SetString(PyExc_IndexError, "offsets must hold n + 1 values");
        goto done;
    }
    for (Py_ssize_t j = 0; j < n_ops; j++) {
        PyObject *t = PyList_GET_ITEM(ops_list, j);
        Op *op = &ops[j];
        Py_buffer *v = &views[3 * j];
        const char *kind;
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) < 2) {
            PyErr_SetString(PyExc_TypeError, "an operation is a tuple");
            goto done;
        }
        kind = PyUnicode_AsUTF8(PyTuple_GET_ITEM(t, 0));
        if (!kind) goto done;
        if (!strcmp(kind, "lit")) {
            op->kind = OP_LIT;
            if (!PyArg_ParseTuple(t, "sy*", &kind, &v[0])) goto done;
            op->bytes = v[0].buf;
            op->len = v[0].len;
        } else if (!strcmp(kind, "int") || !strcmp(kind, "dec")) {
            op->kind = kind[0] == 'i' ? OP_INT : OP_DEC;
            if (!PyArg_ParseTuple(t, op->kind == OP_INT ? "sy*" : "sy*i", &kind, &v[0],
                                  &op->digits)) goto done;
            op->values = v[0].buf;
            if (N_OF(v[0], int64_t) < n || op->digits < 0 || op->digits > 18) {
                PyErr_SetString(PyExc_IndexError, "values must hold n rows, digits 0-18");
                goto done;
            }
        } else if (!strcmp(kind, "str")) {
            op->kind = OP_STR;
            if (!PyArg_ParseTuple(t, "sy*y*y*p", &kind, &v[0], &v[1], &v[2], &op->escape))
                goto done;
            op->entries = v[0].len ? v[0].buf : NULL;
            op->offsets = v[1].buf;
            op->count = N_OF(v[1], int32_t);
            op->bytes = v[2].buf;
            op->len = v[2].len;
            if ((op->entries && N_OF(v[0], int32_t) < n) || (!op->entries && op->count < n + 1)) {
                PyErr_SetString(PyExc_IndexError, "strings must hold n rows");
                goto done;
            }
        } else if (!strcmp(kind, "if")) {
            op->kind = OP_IF;
            if (!PyArg_ParseTuple(t, "sy*ip", &kind, &v[0], &op->skip, &op->negate))
                goto done;
            op->flags = v[0].buf;
            if (v[0].len < n || op->skip < 0 || op->skip > n_ops - j - 1) {
                PyErr_SetString(PyExc_IndexError, "flags must hold n rows, skip stay inside");
                goto done;
            }
        } else {
            PyErr_Format(PyExc_ValueError, "unknown operation %s", kind);
            goto done;
        }
    }
    int64_t *off = out_off.buf;
    Py_ssize_t fixed = 0;  /* every row's literals and numbers, at most */
    for (Py_ssize_t j = 0; j < n_ops; j++)
        fixed += ops[j].kind == OP_LIT ? ops[j].len
                 : ops[j].kind == OP_INT || ops[j].kind == OP_DEC ? NUMBER_MAX : 0;
    /* one pass: rows written one after the other into a buffer that grows when the next
     * row might not fit (untouched room costs no memory), cut to size at the end */
    Py_ssize_t cap = (n * (fixed + 16) < (1 << 26) ? n * (fixed + 16) : (1 << 26)) + 1024;
    Py_ssize_t used = 0;
    result = PyByteArray_FromStringAndSize(NULL, cap);
    if (!result) goto done;
    uint8_t *data = (uint8_t *)PyByteArray_AS_STRING(result);
    int bad = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t r = 0; r < n; r++) {
        Py_ssize_t bound = row_bound(ops, n_ops, r, fixed);
        if (bound < 0) { bad = 1; break; }
        if (used + bound > cap) {
            Py_BLOCK_THREADS
            Py_ssize_t want = cap * 2 > used + bound ? cap * 2 : used + bound;
            bad = PyByteArray_Resize(result, want) < 0 ? 2 : 0;
            Py_UNBLOCK_THREADS
            if (bad) break;
            cap = want;
            data = (uint8_t *)PyByteArray_AS_STRING(result);
        }
        off[r] = used;
        used += run_ops(ops, n_ops, r, data + used);
    }
    off[n] = used;
    Py_END_ALLOW_THREADS
    if (bad == 1) PyErr_SetString(PyExc_IndexError, "string entry out of range");
    if (bad || PyByteArray_Resize(result, used) < 0) {
        Py_CLEAR(result);
        goto done;
    }
done:
    if (views) release_ops(views, 3 * n_ops);
    PyMem_Free(views);
    PyMem_Free(ops);
    PyBuffer_Release(&out_off);
    return result;
}

static uint8_t *put16(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v) {
    p = put16(p, v & 0xFFFF);
    return put16(p, v >> 16);
}

/* A zip header: local (central = 0) or central directory record, without the name. */
static uint8_t *zip_header(uint8_t *p, int central, uint32_t dosdate, uint32_t crc,
                           uint64_t packed, uint64_t size, Py_ssize_t name_len, uint64_t at) {
    p = put32(p, central ? 0x02014B50u : 0x04034B50u);
    if (central) p = put16(p, 20);  /* version made by */
    p = put16(p, 20);               /* version needed */
    p = put16(p, 0);                /* flags */
    p = put16(p, 8);                /* deflate */
    p = put16(p, 0);                /* time: midnight */
    p = put16(p, dosdate);
    p = put32(p, crc);
    p = put32(p, (uint32_t)packed);
    p = put32(p, (uint32_t)size);
    p = put16(p, (uint32_t)name_len);
    p = put16(p, 0);                /* extra field */
    if (central) {
        p = put16(p, 0);            /* comment */
        p = put16(p, 0);            /* disk */
        p = put16(p, 0);            /* internal attributes */
        p = put32(p, 0);            /* external attributes */
        p = put32(p, (uint32_t)at); /* local header offset */
    }
    return p;
}

/* zip_archive(entries, dosdate) -> bytes: a zip archive of deflated entries, each
 * (name: bytes, crc32: int, size: int, data: sequence of bytes-like, the deflated stream in
 * pieces); every entry is dated dosdate at midnight. No zip64: an archive of 4 GB or more, or
 * of more than 65535 entries, is a ValueError. */
static PyObject *zip_archive(PyObject *self, PyObject *args) {
    PyObject *entries, *seq = NULL, *result = NULL;
    unsigned int dosdate;
    if (!PyArg_ParseTuple(args, "OI", &entries, &dosdate)) return NULL;
    if (!(seq = PySequence_Fast(entries, "entries must be a sequence"))) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), n_pieces = 0, got = 0;
    PyObject **items = PySequence_Fast_ITEMS(seq);
    PyObject **data = PyMem_Calloc(n ? n : 1, sizeof(PyObject *));
    Py_buffer *pieces = NULL;
    uint32_t *crcs = PyMem_Calloc(n ? n : 1, sizeof(uint32_t));
    uint64_t *sizes = PyMem_Calloc(n ? n : 1, sizeof(uint64_t));
    uint64_t *packed = PyMem_Calloc(n ? n : 1, sizeof(uint64_t));
    if (!data || !crcs || !sizes || !packed) { PyErr_NoMemory(); goto done; }
    if (n > 0xFFFF) { PyErr_SetString(PyExc_ValueError, "over 65535 entries needs zip64"); goto done; }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name, *chunks;
        unsigned long crc;
        unsigned long long size;
        if (!PyTuple_Check(items[i])) {
            PyErr_SetString(PyExc_TypeError, "an entry is (name, crc32, size, data)");
            goto done;
        }
        if (!PyArg_ParseTuple(items[i], "SkKO", &name, &crc, &size, &chunks)) goto done;
        if (!(data[i] = PySequence_Fast(chunks, "data must be a sequence"))) goto done;
        crcs[i] = (uint32_t)crc;
        sizes[i] = size;
        n_pieces += PySequence_Fast_GET_SIZE(data[i]);
    }
    if (!(pieces = PyMem_Calloc(n_pieces ? n_pieces : 1, sizeof(Py_buffer)))) {
        PyErr_NoMemory();
        goto done;
    }
    uint64_t total = 22, at = 0;  /* the end record */
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t k = PySequence_Fast_GET_SIZE(data[i]), name_len = PyBytes_GET_SIZE(
            PyTuple_GET_ITEM(items[i], 0));
        for (Py_ssize_t j = 0; j < k; j++, got++) {
            if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(data[i], j), &pieces[got],
                                   PyBUF_SIMPLE) < 0) goto done;
            packed[i] += (uint64_t)pieces[got].len;
        }
        if (sizes[i] >= 0xFFFFFFFFu || packed[i] >= 0xFFFFFFFFu || at >= 0xFFFFFFFFu) {
            PyErr_SetString(PyExc_ValueError, "a part over 4 GB needs zip64");
            goto done;
        }
        at += 30 + name_len + packed[i];
        total += 30 + 46 + 2 * name_len + packed[i];
    }
    if (at >= 0xFFFFFFFFu || total >= 0xFFFFFFFFu) {
        PyErr_SetString(PyExc_ValueError, "an archive over 4 GB needs zip64");
        goto done;
    }
    if (!(result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)total))) goto done;
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(result), *p = out;
    got = 0;
    for (Py_ssize_t i = 0; i < n; i++) {  /* local headers and data */
        PyObject *name = PyTuple_GET_ITEM(items[i], 0);
        Py_ssize_t name_len = PyBytes_GET_SIZE(name);
        p = zip_header(p, 0, dosdate, crcs[i], packed[i], sizes[i], name_len, 0);
        memcpy(p, PyBytes_AS_STRING(name), name_len);
        p += name_len;
        for (Py_ssize_t j = 0; j < PySequence_Fast_GET_SIZE(data[i]); j++, got++) {
            memcpy(p, pieces[got].buf, pieces[got].len);
            p += pieces[got].len;
        }
    }
    uint8_t *directory = p;
    at = 0;
    for (Py_ssize_t i = 0; i < n; i++) {  /* the central directory */
        PyObject *name = PyTuple_GET_ITEM(items[i], 0);
        Py_ssize_t name_len = PyBytes_GET_SIZE(name);
        p = zip_header(p, 1, dosdate, crcs[i], packed[i], sizes[i], name_len, at);
        memcpy(p, PyBytes_AS_STRING(name), name_len);
        p += name_len;
        at += 30 + name_len + packed[i];
    }
    uint64_t dir_len = (uint64_t)(p - directory);
    p = put32(p, 0x06054B50u);
    p = put16(p, 0);
    p = put16(p, 0);
    p = put16(p, (uint32_t)n);
    p = put16(p, (uint32_t)n);
    p = put32(p, (uint32_t)dir_len);
    p = put32(p, (uint32_t)(directory - out));
    p = put16(p, 0);
done:
    for (Py_ssize_t i = 0; i < got; i++) PyBuffer_Release(&pieces[i]);
    if (data) for (Py_ssize_t i = 0; i < n; i++) Py_XDECREF(data[i]);
    PyMem_Free(pieces);
    PyMem_Free(data);
    PyMem_Free(crcs);
    PyMem_Free(sizes);
    PyMem_Free(packed);
    Py_DECREF(seq);
    if (PyErr_Occurred()) Py_CLEAR(result);
    return result;
}

/* first_index(keys, probes, out): out[j] = the first i with keys[i] == probes[j], else -1.
 * An open-addressing table of the keys (linear probing, at most two thirds full); both passes
 * prefetch the slot of the item AHEAD items on, as the table is larger than the caches. */
typedef struct {
    int64_t key;
    int64_t at; /* -1: empty */
} slot_t;

#define AHEAD 16

static inline size_t slot_of(int64_t key, int shift) {
    return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> shift);
}

static PyObject *first_index(PyObject *self, PyObject *args) {
    Py_buffer k = {0}, p = {0}, o = {0};
    Py_buffer *views[] = {&k, &p, &o};
    if (!PyArg_ParseTuple(args, "y*y*w*", &k, &p, &o)) return NULL;
    Py_ssize_t n = N_OF(k, int64_t), m = N_OF(p, int64_t);
    if (N_OF(o, int64_t) != m) {
        release(views, 3);
        PyErr_SetString(PyExc_ValueError, "out must hold one int64 per probe");
        return NULL;
    }
    int bits = 1;
    while (((Py_ssize_t)1 << bits) < n + n / 2 + 1) bits++;
    size_t size = (size_t)1 << bits, mask = size - 1;
    int shift = 64 - bits;
    slot_t *table = PyMem_RawMalloc(size * sizeof(slot_t));
    if (!table) {
        release(views, 3);
        return PyErr_NoMemory();
    }
    const int64_t *keys = k.buf, *probes = p.buf;
    int64_t *out = o.buf;
    Py_BEGIN_ALLOW_THREADS
    for (size_t s = 0; s < size; s++) table[s].at = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i + AHEAD < n) __builtin_prefetch(&table[slot_of(keys[i + AHEAD], shift)]);
        size_t s = slot_of(keys[i], shift);
        while (table[s].at >= 0 && table[s].key != keys[i]) s = (s + 1) & mask;
        if (table[s].at < 0) {  /* a repeated key keeps its first position */
            table[s].key = keys[i];
            table[s].at = i;
        }
    }
    for (Py_ssize_t j = 0; j < m; j++) {
        if (j + AHEAD < m) __builtin_prefetch(&table[slot_of(probes[j + AHEAD], shift)]);
        size_t s = slot_of(probes[j], shift);
        while (table[s].at >= 0 && table[s].key != probes[j]) s = (s + 1) & mask;
        out[j] = table[s].at;
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(table);
    release(views, 3);
    Py_RETURN_NONE;
}

/* digit_values(offsets, data, out) -> bool: out[i] = the number written by string i
 * (data[offsets[i]:offsets[i + 1]], int32 offsets as Arrow's), if every string is 1-18 ASCII
 * digits of one width; False (out undefined) otherwise. */
static PyObject *digit_values(PyObject *self, PyObject *args) {
    Py_buffer o = {0}, d = {0}, out = {0};
    Py_buffer *views[] = {&o, &d, &out};
    if (!PyArg_ParseTuple(args, "y*y*w*", &o, &d, &out)) return NULL;
    const int32_t *off = o.buf;
    const uint8_t *data = d.buf;
    int64_t *dst = out.buf;
    Py_ssize_t n = N_OF(o, int32_t) - 1, size = d.len;
    int ok = n >= 0 && N_OF(out, int64_t) == n;
    Py_BEGIN_ALLOW_THREADS
    int32_t width = n > 0 ? off[1] - off[0] : 0;
    if (width < 1 || width > 18) ok = 0;
    for (Py_ssize_t i = 0; i < n && ok; i++) {
        int32_t lo = off[i], hi = off[i + 1];
        if (hi - lo != width || lo < 0 || hi > size) { ok = 0; break; }
        if (width == 8) {  /* an AWB serial: eight digits at once (SWAR) */
            uint64_t w;
            memcpy(&w, data + lo, 8);
            w -= 0x3030303030303030ULL;  /* each byte's digit; a byte below '0' borrows */
            if ((w | (w + 0x7676767676767676ULL)) & 0x8080808080808080ULL) { ok = 0; break; }
            w = (w * 10 + (w >> 8)) & 0x00FF00FF00FF00FFULL;       /* pairs, in place */
            w = (w * 100 + (w >> 16)) & 0x0000FFFF0000FFFFULL;     /* fours */
            dst[i] = (int64_t)((w * 10000 + (w >> 32)) & 0xFFFFFFFFULL);  /* eight */
            continue;
        }
        int64_t v = 0;
        for (int32_t k = lo; k < hi; k++) {
            uint8_t c = (uint8_t)(data[k] - '0');
            if (c > 9) { ok = 0; break; }
            v = v * 10 + c;
        }
        dst[i] = v;
    }
    Py_END_ALLOW_THREADS
    release(views, 3);
    return PyBool_FromLong(ok);
}

/* radix_order(keys, out): out = the stable ascending order of int64 keys, all in [0, 2^63):
 * an LSD radix sort by 11-bit digits (the counts of a digit fit the L1 cache). A digit every
 * key shares is skipped; the first pass reads the keys in place, the last writes the order
 * straight into out, and the passes between carry (key, position) pairs in 32-bit scratch
 * where keys and positions fit (half the fresh memory: page faults are much of the cost). */
#define RADIX_BITS 11
#define RADIX (1 << RADIX_BITS)

#define RADIX_PASSES(KT, IT)                                                                 \
    do {                                                                                     \
        KT *ksrc = NULL, *kdst = scratch ? (KT *)scratch : NULL;                             \
        IT *isrc = NULL, *idst = scratch ? (IT *)((KT *)scratch + 2 * n) : NULL;             \
        for (int j = 0; j < m; j++) {                                                        \
            Py_ssize_t *c = counts + (Py_ssize_t)use[j] * RADIX;                             \
            int shift = use[j] * RADIX_BITS, last = j == m - 1;                              \
            for (Py_ssize_t i = 0; i < n; i++) {                                             \
                uint64_t v = j ? (uint64_t)ksrc[i] : (uint64_t)keys[i];                      \
                int64_t at = j ? (int64_t)isrc[i] : (int64_t)i;                              \
                Py_ssize_t to = c[(v >> shift) & (RADIX - 1)]++;                             \
                if (last) out[to] = at;                                                      \
                else { kdst[to] = (KT)v; idst[to] = (IT)at; }                                \
            }                                                                                \
            if (last) break;  /* the order is written: no scratch to swap */                 \
            ksrc = kdst; isrc = idst;                                                        \
            kdst = (j & 1) ? (KT *)scratch : (KT *)scratch + n;                              \
            idst = (j & 1) ? (IT *)((KT *)scratch + 2 * n) : (IT *)((KT *)scratch + 2 * n) + n; \
        }                                                                                    \
    } while (0)

static PyObject *radix_order(PyObject *self, PyObject *args) {
    Py_buffer k = {0}, o = {0};
    Py_buffer *views[] = {&k, &o};
    if (!PyArg_ParseTuple(args, "y*w*", &k, &o)) return NULL;
    Py_ssize_t n = N_OF(k, int64_t);
    if (N_OF(o, int64_t) != n) {
        release(views, 2);
        PyErr_SetString(PyExc_ValueError, "out must hold one int64 per key");
        return NULL;
    }
    const int64_t *keys = k.buf;
    int64_t *out = o.buf;
    uint64_t top = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (keys[i] < 0) {
            release(views, 2);
            PyErr_SetString(PyExc_ValueError, "radix_order sorts keys of 0 and above");
            return NULL;
        }
        top |= (uint64_t)keys[i];
    }
    int passes = 0, m = 0, use[8];
    while (passes * RADIX_BITS < 64 && (top >> (passes * RADIX_BITS))) passes++;
    int narrow = top <= 0xFFFFFFFFu && n <= 0x7FFFFFFF;
    Py_ssize_t *counts = PyMem_RawCalloc((size_t)(passes ? passes : 1) * RADIX,
                                         sizeof(Py_ssize_t));
    void *scratch = NULL;
    if (!counts) {
        release(views, 2);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {  /* every pass's counts in one read */
        uint64_t v = (uint64_t)keys[i];
        for (int p = 0; p < passes; p++)
            counts[p * RADIX + ((v >> (p * RADIX_BITS)) & (RADIX - 1))]++;
    }
    for (int p = 0; p < passes; p++) {  /* counts -> first slot of each digit */
        Py_ssize_t *c = counts + p * RADIX, at = 0;
        int trivial = 0;
        for (int d = 0; d < RADIX; d++) {
            if (c[d] == n) trivial = 1;  /* every key has this digit: the pass changes nothing */
            Py_ssize_t here = c[d];
            c[d] = at;
            at += here;
        }
        if (!trivial) use[m++] = p;
    }
    if (m > 1)  /* two key arrays, two position arrays */
        scratch = PyMem_RawMalloc((size_t)n * 2 * (narrow ? 8 : 16));
    Py_END_ALLOW_THREADS
    if (m > 1 && !scratch) {
        PyMem_RawFree(counts);
        release(views, 2);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    if (m == 0)
        for (Py_ssize_t i = 0; i < n; i++) out[i] = i;
    else if (narrow)
        RADIX_PASSES(uint32_t, uint32_t);
    else
        RADIX_PASSES(uint64_t, int64_t);
    Py_END_ALLOW_THREADS
    PyMem_RawFree(counts);
    PyMem_RawFree(scratch);
    release(views, 2);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"put_bytes", put_bytes, METH_VARARGS, "put_bytes(buf, base, start, value)"},
    {"put_values", put_values, METH_VARARGS,
     "put_values(kind, buf, base, start, length, rows, values, valid, absolute, blank_null)"},
    {"put_texts", put_texts, METH_VARARGS,
     "put_texts(buf, base, start, length, rows, entries, offsets, data)"},
    {"format_rows", format_rows, METH_VARARGS, "format_rows(n, ops, offsets) -> bytearray"},
    {"zip_archive", zip_archive, METH_VARARGS, "zip_archive(entries, dosdate) -> bytes"},
    {"first_index", first_index, METH_VARARGS, "first_index(keys, probes, out)"},
    {"digit_values", digit_values, METH_VARARGS, "digit_values(offsets, data, out) -> bool"},
    {"radix_order", radix_order, METH_VARARGS, "radix_order(keys, out)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "casslink._kernels",
    "Kernels that write values as text into byte buffers.", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
