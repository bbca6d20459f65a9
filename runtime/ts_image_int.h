/*
 * ts_image_int.h: the image code's internals, for its tests and benches.
 */

#ifndef TS_IMAGE_INT_H
#define TS_IMAGE_INT_H

#ifdef __cplusplus
extern "C" {
#endif

#define TS_IMAGE_SIMD_NONE  0   /* portable C */
#define TS_IMAGE_SIMD_AVX2  1   /* x86-64 with AVX2 */

/*
 * The vector code ts_image_transform uses from now on: level at most
 * (TS_IMAGE_SIMD_AVX2 only where the processor has it), -1 to leave it as
 * it is.  Returns the level in use before.  Not for use while transforms
 * run in other threads.
 */
int ts_image_simd(int level);

#ifdef __cplusplus
}
#endif

#endif /* TS_IMAGE_INT_H */
