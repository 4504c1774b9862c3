/* VP8 with libvpx, set up for a call (see vp8.h). */
#include "video/vp8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vpx_encoder.h>

struct hc_vp8_enc {
    vpx_codec_ctx_t ctx;
    vpx_image_t img;
    hc_vp8_params p;
    int64_t pts;
};

struct hc_vp8_dec {
    vpx_codec_ctx_t ctx;
    int max_w, max_h;
    int have_key;
    int key_w, key_h;          /* the size the last keyframe set: inter frames must keep it */
};

int hc_vp8_enc_open(hc_vp8_enc **out, const hc_vp8_params *p, char *err, size_t errlen)
{
    *out = NULL;
    if (p->w < 16 || p->h < 16 || p->w > HC_VIDEO_MAX_W || p->h > HC_VIDEO_MAX_H || (p->w & 1) || (p->h & 1) ||
        p->fps < 1 || p->fps > 60 || p->kbps < 10 || p->kbps > 20000) {
        snprintf(err, errlen, "video encoder: unusable settings %dx%d @ %d fps, %d kbit/s", p->w, p->h, p->fps, p->kbps);
        return -1;
    }
    hc_vp8_enc *e = calloc(1, sizeof *e);
    if (!e) { snprintf(err, errlen, "out of memory"); return -1; }
    e->p = *p;
    vpx_codec_enc_cfg_t cfg;
    if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0)) {
        snprintf(err, errlen, "video encoder: libvpx has no VP8 defaults");
        free(e);
        return -1;
    }
    cfg.g_w = (unsigned)p->w;
    cfg.g_h = (unsigned)p->h;
    cfg.g_threads = 1;
    cfg.g_timebase.num = 1;
    cfg.g_timebase.den = p->fps;
    cfg.g_lag_in_frames = 0;                      /* realtime: a frame out for every frame in */
    cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
    cfg.g_pass = VPX_RC_ONE_PASS;
    cfg.rc_end_usage = VPX_CBR;
    cfg.rc_target_bitrate = (unsigned)p->kbps;
    cfg.rc_min_quantizer = 4;
    cfg.rc_max_quantizer = 56;
    cfg.rc_undershoot_pct = 50;
    cfg.rc_overshoot_pct = 50;
    cfg.rc_buf_initial_sz = 300;                  /* ms: a short buffer is low delay */
    cfg.rc_buf_optimal_sz = 400;
    cfg.rc_buf_sz = 500;
    cfg.rc_dropframe_thresh = 0;                  /* never skip frames: the pattern's numbers must all arrive */
    cfg.kf_mode = VPX_KF_DISABLED;                /* keyframes only when asked (keyframe.h) */
    if (vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), &cfg, 0)) {
        snprintf(err, errlen, "video encoder: %s", vpx_codec_error_detail(&e->ctx) ? vpx_codec_error_detail(&e->ctx)
                                                                                    : vpx_codec_error(&e->ctx));
        free(e);
        return -1;
    }
    vpx_codec_control(&e->ctx, VP8E_SET_CPUUSED, -8);
    vpx_codec_control(&e->ctx, VP8E_SET_STATIC_THRESHOLD, 1u);
    vpx_codec_control(&e->ctx, VP8E_SET_NOISE_SENSITIVITY, 0u);
    vpx_codec_control(&e->ctx, VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION);
    vpx_codec_control(&e->ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, 300u);
    *out = e;
    return 0;
}

int hc_vp8_encode(hc_vp8_enc *e, const hc_video_frame *f, int want, uint8_t *out, size_t cap, size_t *len)
{
    *len = 0;
    if (want != HC_VP8_INTER && want != HC_VP8_KEY && want != HC_VP8_RECOVERY) return -1;
    if (f->w != e->p.w || f->h != e->p.h) return -1;
    /* Wrap the caller's planes: no copy, no allocation. */
    vpx_img_wrap(&e->img, VPX_IMG_FMT_I420, (unsigned)f->w, (unsigned)f->h, 1, f->y);
    e->img.planes[VPX_PLANE_Y] = f->y;
    e->img.planes[VPX_PLANE_U] = f->u;
    e->img.planes[VPX_PLANE_V] = f->v;
    e->img.stride[VPX_PLANE_Y] = f->stride_y;
    e->img.stride[VPX_PLANE_U] = f->stride_u;
    e->img.stride[VPX_PLANE_V] = f->stride_v;
    vpx_enc_frame_flags_t fl;
    if (want == HC_VP8_KEY)
        fl = VPX_EFLAG_FORCE_KF;
    else if (want == HC_VP8_RECOVERY)   /* GOLDEN (the last keyframe) only: repairs any loss since */
        fl = VP8_EFLAG_NO_REF_LAST | VP8_EFLAG_NO_REF_ARF | VP8_EFLAG_NO_UPD_GF | VP8_EFLAG_NO_UPD_ARF;
    else                                /* LAST only, so GOLDEN stays the keyframe */
        fl = VP8_EFLAG_NO_REF_GF | VP8_EFLAG_NO_REF_ARF | VP8_EFLAG_NO_UPD_GF | VP8_EFLAG_NO_UPD_ARF;
    if (vpx_codec_encode(&e->ctx, &e->img, e->pts++, 1, fl, VPX_DL_REALTIME)) return -1;
    int made = want == HC_VP8_RECOVERY ? HC_VP8_RECOVERY : HC_VP8_INTER;
    vpx_codec_iter_t it = NULL;
    const vpx_codec_cx_pkt_t *pkt;
    while ((pkt = vpx_codec_get_cx_data(&e->ctx, &it))) {
        if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
        if (*len + pkt->data.frame.sz > cap) return -1;
        memcpy(out + *len, pkt->data.frame.buf, pkt->data.frame.sz);
        *len += pkt->data.frame.sz;
        if (pkt->data.frame.flags & VPX_FRAME_IS_KEY) made = HC_VP8_KEY;
    }
    return made;
}

void hc_vp8_enc_close(hc_vp8_enc *e)
{
    if (!e) return;
    vpx_codec_destroy(&e->ctx);
    free(e);
}

int hc_vp8_dec_open(hc_vp8_dec **out, int max_w, int max_h, char *err, size_t errlen)
{
    *out = NULL;
    /* 14 bits of size in a keyframe: a larger limit would check nothing. */
    if (max_w < 2 || max_h < 2 || max_w > 16383 || max_h > 16383) {
        snprintf(err, errlen, "video decoder: size limit %dx%d out of range", max_w, max_h);
        return -1;
    }
    hc_vp8_dec *d = calloc(1, sizeof *d);
    if (!d) { snprintf(err, errlen, "out of memory"); return -1; }
    vpx_codec_dec_cfg_t cfg = {.threads = 1};
    if (vpx_codec_dec_init(&d->ctx, vpx_codec_vp8_dx(), &cfg, 0)) {
        snprintf(err, errlen, "video decoder: %s", vpx_codec_error(&d->ctx));
        free(d);
        return -1;
    }
    d->max_w = max_w;
    d->max_h = max_h;
    *out = d;
    return 0;
}

/* RFC 6386 §9.1: a 3-byte frame tag (bit 0: 0 = keyframe), then for keyframes the start code
 * 9d 01 2a and two 16-bit little-endian fields: 14 bits of size, 2 bits of scaling. */
int hc_vp8_peek(const uint8_t *data, size_t len, int *w, int *h)
{
    if (len < 3) return -1;
    uint32_t tag = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16;
    uint32_t first_part = tag >> 5;
    if ((tag >> 1 & 7) > 3) return -1;            /* version 0..3 */
    if (tag & 1) {                                /* inter frame */
        if (first_part > len - 3) return -1;
        return 0;
    }
    if (len < 10 || data[3] != 0x9d || data[4] != 0x01 || data[5] != 0x2a) return -1;
    if (first_part > len - 10) return -1;
    /* The two top bits ask the decoder to upscale its output; hushcall senders never set them,
     * and honouring them would let a sender make pictures larger than the size checked here. */
    if ((data[7] | data[9]) & 0xC0) return -1;
    if (w) *w = (data[6] | data[7] << 8) & 0x3FFF;
    if (h) *h = (data[8] | data[9] << 8) & 0x3FFF;
    return 1;
}

int hc_vp8_decode(hc_vp8_dec *d, const uint8_t *data, size_t len, hc_video_frame *out)
{
    int w = 0, h = 0;
    int k = hc_vp8_peek(data, len, &w, &h);
    if (k < 0) return -1;
    if (k == 1) {
        /* Checked before libvpx sees it: a hostile keyframe must not make it allocate 16k x 16k. */
        if (w <= 0 || h <= 0 || (w & 1) || (h & 1) || w > d->max_w || h > d->max_h) return -1;
    } else if (!d->have_key) {
        return -1;                                /* nothing to predict from yet */
    }
    if (vpx_codec_decode(&d->ctx, data, (unsigned)len, NULL, 0)) {
        if (k == 1) d->have_key = 0;
        return -1;
    }
    /* libvpx conceals damage it notices instead of failing; such a picture is not shown (the
     * receiver keeps the last good one and asks for a keyframe). */
    int corrupt = 0;
    if (vpx_codec_control(&d->ctx, VP8D_GET_FRAME_CORRUPTED, &corrupt) == VPX_CODEC_OK && corrupt) {
        if (k == 1) d->have_key = 0;
        return -1;
    }
    vpx_codec_iter_t it = NULL;
    vpx_image_t *img = vpx_codec_get_frame(&d->ctx, &it);
    if (!img || img->fmt != VPX_IMG_FMT_I420 || (img->d_w & 1) || (img->d_h & 1) || (int)img->d_w > d->max_w ||
        (int)img->d_h > d->max_h)
        return -1;
    if (k == 1) {
        d->have_key = 1;
        d->key_w = w;
        d->key_h = h;
    }
    if ((int)img->d_w != d->key_w || (int)img->d_h != d->key_h) return -1;
    memset(out, 0, sizeof *out);
    out->w = (int)img->d_w;
    out->h = (int)img->d_h;
    out->y = img->planes[VPX_PLANE_Y];
    out->u = img->planes[VPX_PLANE_U];
    out->v = img->planes[VPX_PLANE_V];
    out->stride_y = img->stride[VPX_PLANE_Y];
    out->stride_u = img->stride[VPX_PLANE_U];
    out->stride_v = img->stride[VPX_PLANE_V];
    return 0;
}

void hc_vp8_dec_close(hc_vp8_dec *d)
{
    if (!d) return;
    vpx_codec_destroy(&d->ctx);
    free(d);
}
