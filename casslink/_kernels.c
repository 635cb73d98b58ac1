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
        memcpy(out + p, v, width);
    }
    Py_END_ALLOW_THREADS
    release(views, 3);
    return PyLong_FromLong(rc);
}

/* put_digits(buf, base, start, length, rows, values, valid, absolute, blank_null) */
static PyObject *put_digits(PyObject *self, PyObject *args) {
    Py_buffer buf = {0}, base = {0}, rows = {0}, values = {0}, valid = {0};
    Py_ssize_t start, length;
    int absolute, blank_null;
    if (!PyArg_ParseTuple(args, "w*y*nny*y*y*pp", &buf, &base, &start, &length, &rows,
                          &values, &valid, &absolute, &blank_null)) return NULL;
    Py_buffer *views[] = {&buf, &base, &rows, &values, &valid};
    uint8_t *out = buf.buf;
    const int64_t *at = base.buf, *row = rows.buf, *val = values.buf;
    const uint8_t *ok = valid.buf;
    Py_ssize_t n = N_OF(base, int64_t), m = N_OF(values, int64_t), size = buf.len;
    int64_t limit = pow10_limit(length);
    long rc = -1;
    int all_valid = valid.len == 0;  /* no validity given: every row is valid */
    if (N_OF(rows, int64_t) < n || (!all_valid && valid.len < m)) rc = OUT_OF_RANGE;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n && rc == -1; i++) {
        int64_t r = row[i], v = 0, p = at[i] + start;
        if (r < 0 || r >= m || p < 0 || p + length > size) { rc = OUT_OF_RANGE; break; }
        if (all_valid || ok[r]) {
            v = val[r];
            if (absolute && v < 0 && v != INT64_MIN) v = -v;
        } else if (blank_null) {
            continue;
        }
        if (v < 0 || v >= limit) { rc = (long)i; break; }
        for (Py_ssize_t k = length - 1; k >= 0; k--) {
            out[p + k] = (uint8_t)('0' + v % 10);
            v /= 10;
        }
    }
    Py_END_ALLOW_THREADS
    release(views, 5);
    return PyLong_FromLong(rc);
}

/* put_minus(buf, base, start, rows, values, valid): '-' where the value is negative */
static PyObject *put_minus(PyObject *self, PyObject *args) {
    Py_buffer buf = {0}, base = {0}, rows = {0}, values = {0}, valid = {0};
    Py_ssize_t start;
    if (!PyArg_ParseTuple(args, "w*y*ny*y*y*", &buf, &base, &start, &rows, &values, &valid))
        return NULL;
    Py_buffer *views[] = {&buf, &base, &rows, &values, &valid};
    uint8_t *out = buf.buf;
    const int64_t *at = base.buf, *row = rows.buf, *val = values.buf;
    const uint8_t *ok = valid.buf;
    Py_ssize_t n = N_OF(base, int64_t), m = N_OF(values, int64_t), size = buf.len;
    long rc = -1;
    int all_valid = valid.len == 0;  /* no validity given: every row is valid */
    if (N_OF(rows, int64_t) < n || (!all_valid && valid.len < m)) rc = OUT_OF_RANGE;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n && rc == -1; i++) {
        int64_t r = row[i], p = at[i] + start;
        if (r < 0 || r >= m || p < 0 || p >= size) { rc = OUT_OF_RANGE; break; }
        if ((all_valid || ok[r]) && val[r] < 0) out[p] = '-';
    }
    Py_END_ALLOW_THREADS
    release(views, 5);
    return PyLong_FromLong(rc);
}

/* put_rate(buf, base, start, rows, values, valid): nnnnn.nnnnn from values x 100000 */
static PyObject *put_rate(PyObject *self, PyObject *args) {
    Py_buffer buf = {0}, base = {0}, rows = {0}, values = {0}, valid = {0};
    Py_ssize_t start;
    if (!PyArg_ParseTuple(args, "w*y*ny*y*y*", &buf, &base, &start, &rows, &values, &valid))
        return NULL;
    Py_buffer *views[] = {&buf, &base, &rows, &values, &valid};
    uint8_t *out = buf.buf;
    const int64_t *at = base.buf, *row = rows.buf, *val = values.buf;
    const uint8_t *ok = valid.buf;
    Py_ssize_t n = N_OF(base, int64_t), m = N_OF(values, int64_t), size = buf.len;
    long rc = -1;
    int all_valid = valid.len == 0;  /* no validity given: every row is valid */
    if (N_OF(rows, int64_t) < n || (!all_valid && valid.len < m)) rc = OUT_OF_RANGE;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n && rc == -1; i++) {
        int64_t r = row[i], p = at[i] + start;
        if (r < 0 || r >= m || p < 0 || p + 11 > size) { rc = OUT_OF_RANGE; break; }
        if (!all_valid && !ok[r]) continue;
        int64_t v = val[r];
        if (v < 0 || v >= 10000000000LL) { rc = (long)i; break; }
        out[p + 5] = '.';
        for (int k = 10; k >= 6; k--) { out[p + k] = (uint8_t)('0' + v % 10); v /= 10; }
        for (int k = 4; k >= 0; k--) { out[p + k] = (uint8_t)('0' + v % 10); v /= 10; }
    }
    Py_END_ALLOW_THREADS
    release(views, 5);
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

/* put_dates(buf, base, start, rows, days, valid): YYMMDD */
static PyObject *put_dates(PyObject *self, PyObject *args) {
    Py_buffer buf = {0}, base = {0}, rows = {0}, values = {0}, valid = {0};
    Py_ssize_t start;
    if (!PyArg_ParseTuple(args, "w*y*ny*y*y*", &buf, &base, &start, &rows, &values, &valid))
        return NULL;
    Py_buffer *views[] = {&buf, &base, &rows, &values, &valid};
    uint8_t *out = buf.buf;
    const int64_t *at = base.buf, *row = rows.buf, *val = values.buf;
    const uint8_t *ok = valid.buf;
    Py_ssize_t n = N_OF(base, int64_t), m = N_OF(values, int64_t), size = buf.len;
    long rc = -1;
    int all_valid = valid.len == 0;  /* no validity given: every row is valid */
    if (N_OF(rows, int64_t) < n || (!all_valid && valid.len < m)) rc = OUT_OF_RANGE;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n && rc == -1; i++) {
        int64_t r = row[i], p = at[i] + start, y, mo, d;
        if (r < 0 || r >= m || p < 0 || p + 6 > size) { rc = OUT_OF_RANGE; break; }
        if (!all_valid && !ok[r]) continue;
        civil(val[r], &y, &mo, &d);
        y = ((y % 100) + 100) % 100;
        int64_t v = y * 10000 + mo * 100 + d;
        for (int k = 5; k >= 0; k--) { out[p + k] = (uint8_t)('0' + v % 10); v /= 10; }
    }
    Py_END_ALLOW_THREADS
    release(views, 5);
    return PyLong_FromLong(rc);
}

/* put_texts(buf, base, start, length, rows, entries, offsets, data): strings cut to length,
 * row r's string data[offsets[e]:offsets[e + 1]] (int32 offsets, as Arrow's) with
 * e = entries[r] (null where e < 0), or e = r where entries is empty.
 * The rest of the field is left as it is (blank). Returns the first item with a non-ASCII
 * byte. */
static PyObject *put_texts(PyObject *self, PyObject *args) {
    Py_buffer buf = {0}, base = {0}, rows = {0}, entries = {0}, offsets = {0}, data = {0};
    Py_ssize_t start, length;
    if (!PyArg_ParseTuple(args, "w*y*nny*y*y*y*", &buf, &base, &start, &length, &rows,
                          &entries, &offsets, &data)) return NULL;
    Py_buffer *views[] = {&buf, &base, &rows, &entries, &offsets, &data};
    uint8_t *out = buf.buf;
    const int64_t *at = base.buf, *row = rows.buf, *ent = entries.buf;
    const int32_t *off = offsets.buf;
    const uint8_t *src = data.buf;
    int identity = entries.len == 0;  /* no entries given: row r is string r */
    Py_ssize_t k_off = N_OF(offsets, int32_t), size = buf.len, dlen = data.len;
    Py_ssize_t n = N_OF(base, int64_t), m = identity ? k_off - 1 : N_OF(entries, int64_t);
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

static PyMethodDef methods[] = {
    {"put_bytes", put_bytes, METH_VARARGS, "put_bytes(buf, base, start, value)"},
    {"put_digits", put_digits, METH_VARARGS,
     "put_digits(buf, base, start, length, rows, values, valid, absolute, blank_null)"},
    {"put_minus", put_minus, METH_VARARGS, "put_minus(buf, base, start, rows, values, valid)"},
    {"put_rate", put_rate, METH_VARARGS, "put_rate(buf, base, start, rows, values, valid)"},
    {"put_dates", put_dates, METH_VARARGS, "put_dates(buf, base, start, rows, days, valid)"},
    {"put_texts", put_texts, METH_VARARGS,
     "put_texts(buf, base, start, length, rows, entries, offsets, data)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "casslink._kernels",
    "Kernels that write values as text into byte buffers.", -1, methods,
};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
