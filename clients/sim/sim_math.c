/* floorwalker sim: ln and exp without libm, and the distributions built on them. */
#include "sim_math.h"

double sim_ln(double x)
{
    if (x <= 0)
        return -745.0;
    union {
        double d;
        uint64_t u;
    } v = {x};
    int e = (int)((v.u >> 52) & 0x7ff) - 1023;
    v.u = (v.u & 0x000fffffffffffffull) | 0x3ff0000000000000ull; /* mantissa in [1, 2) */
    double m = v.d;
    if (m > 1.41421356237) { /* keep z small: m in [0.707, 1.414] */
        m *= 0.5;
        e++;
    }
    double z = (m - 1) / (m + 1), z2 = z * z;
    double s =
        z * (2 + z2 * (2.0 / 3 + z2 * (2.0 / 5 + z2 * (2.0 / 7 + z2 * (2.0 / 9 + z2 * 2.0 / 11)))));
    return e * 0.69314718055994531 + s;
}

double sim_exp(double x)
{
    if (x < -700)
        return 0;
    if (x > 700)
        x = 700;
    double kf = x * 1.4426950408889634;
    int k = (int)(kf < 0 ? kf - 0.5 : kf + 0.5);
    double r = x - k * 0.69314718055994531; /* |r| <= 0.35 */
    double t = 1, sum = 1;
    for (int i = 1; i < 12; i++) {
        t *= r / i;
        sum += t;
    }
    union {
        double d;
        uint64_t u;
    } v = {.u = (uint64_t)(k + 1023) << 52};
    return sum * v.d;
}

double sim_expo(uint64_t s[4], double mean)
{
    return -mean * sim_ln(1.0 - sim_u01(s));
}

double sim_normal(uint64_t s[4])
{
    double t = 0;
    for (int i = 0; i < 12; i++)
        t += sim_u01(s);
    return t - 6.0;
}

double sim_lognormal(uint64_t s[4], double med, double sigma)
{
    return med * sim_exp(sigma * sim_normal(s));
}
