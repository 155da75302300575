/* Greedy NMS over boxes already in descending score order: the arithmetic of core/common/boxes.py's
 * numpy NMS, operation for operation in double precision (built without -ffast-math and with
 * -ffp-contract=off), so both keep the same boxes bit for bit. +1 pixel convention; mode 0: IoU,
 * mode 1: intersection over the smaller area. A box is suppressed when its overlap with an earlier box
 * that is not suppressed is not <= thresh (NaN suppresses); suppressed[] is filled in, area[] is scratch. */
#include <stdint.h>

static double dmin(double a, double b) { return b < a ? b : a; }  /* numpy minimum on finite values */
static double dmax(double a, double b) { return b > a ? b : a; }

void mtcnn_nms(const double *x1, const double *y1, const double *x2, const double *y2, int64_t n,
               double thresh, int32_t mode, uint8_t *suppressed, double *area)
{
    for (int64_t i = 0; i < n; ++i)
        area[i] = ((x2[i] - x1[i]) + 1) * ((y2[i] - y1[i]) + 1);
    for (int64_t i = 0; i < n; ++i) {
        if (suppressed[i])
            continue;
        const double ai = area[i];
        for (int64_t j = i + 1; j < n; ++j) {
            if (suppressed[j])
                continue;
            double iw = (dmin(x2[i], x2[j]) - dmax(x1[i], x1[j])) + 1;
            double ih = (dmin(y2[i], y2[j]) - dmax(y1[i], y1[j])) + 1;
            const double aj = area[j];
            /* apart, with both areas positive: overlap 0, kept (thresh >= 0); else the full arithmetic,
             * where a degenerate box's 0/0 or negative area decides as in numpy */
            if ((!(iw > 0) || !(ih > 0)) && ai > 0 && aj > 0 && thresh >= 0)
                continue;
            if (!(iw > 0)) iw = 0;  /* np.maximum(iw, 0) */
            if (!(ih > 0)) ih = 0;
            const double inter = iw * ih;
            const double ovr = mode ? inter / dmin(ai, aj) : inter / ((ai + aj) - inter);
            if (!(ovr <= thresh))
                suppressed[j] = 1;
        }
    }
}
