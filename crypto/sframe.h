/* SFrame (RFC 9605) for media and chat frames: header, key schedule, seal and open.
 *
 * Suites: HC_SUITE_CHACHA (0xF001, private: ChaCha20-Poly1305-IETF, HKDF-SHA256, Nk 32, Nn 12,
 * Nt 16; works everywhere) and HC_SUITE_AES256GCM (0x0005, RFC: AES-256-GCM, HKDF-SHA512; only where
 * crypto_aead_aes256gcm_is_available()).
 *
 *   secret      = HKDF-Extract(salt = "", base_key)
 *   sframe_key  = HKDF-Expand(secret, "SFrame 1.0 Secret key "  || u64(KID) || u16(suite), Nk)
 *   sframe_salt = HKDF-Expand(secret, "SFrame 1.0 Secret salt " || u64(KID) || u16(suite), Nn)
 *   nonce       = sframe_salt XOR u96(CTR)
 *   frame       = header || AEAD(sframe_key, nonce, aad = header || metadata, pt)
 *
 * hushcall's per-sender base key (PROTOCOL.md §6):
 *   base_key = HKDF-SHA256(salt = meeting_uuid, ikm = MK, info = "hushcall-1-KDF-FrameKey" ||
 *              lp(meeting_id) || u32(epoch) || u32(sender_index) || u8(stream), 32)
 *   KID      = stream << 24 | (sender_index & 0xFFFF) << 8 | (epoch & 0xFF)
 *
 * No allocation and no syscall on the seal/open path. */
#ifndef HC_SFRAME_H
#define HC_SFRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

#define HC_SUITE_CHACHA     0xF001
#define HC_SUITE_AES256GCM  0x0005

#define HC_SFRAME_HDR_MAX 17
#define HC_SFRAME_TAG_LEN 16
#define HC_SFRAME_OVERHEAD_MAX (HC_SFRAME_HDR_MAX + HC_SFRAME_TAG_LEN)
/* Longest metadata seal/open accept: the AAD (header || metadata) is built in a stack buffer so
 * the frame path never allocates. hushcall's relay header is a few bytes. */
#define HC_SFRAME_META_MAX 256

#define HC_STREAM_AUDIO 1
#define HC_STREAM_VIDEO 2
#define HC_STREAM_CHAT  3

/* ---- header (RFC 9605 §4.3) ---- */
/* Writes the minimal header; returns its length (1..17). */
size_t hc_sframe_header_encode(uint8_t out[HC_SFRAME_HDR_MAX], uint64_t kid, uint64_t ctr);
/* Parses a header at the start of `in`. Returns the header length, or -1 when truncated or
 * not minimally encoded. */
int hc_sframe_header_decode(const uint8_t *in, size_t len, uint64_t *kid, uint64_t *ctr);

/* ---- key schedule (RFC 9605 §4.4.2), all five RFC suites plus 0xF001 ---- */
/* Nk, Nn, Nt and hash length for a suite; returns -1 for an unknown suite. */
int hc_sframe_suite_params(uint16_t suite, size_t *nk, size_t *nn, size_t *nt, size_t *nh);
/* Derives secret/key/salt for any suite (used by the RFC vector tests for suites 1..5).
 * Buffers must hold nh, nk, nn bytes. Returns 0 or -1. */
int hc_sframe_derive_raw(uint16_t suite, uint64_t kid, const uint8_t *base_key, size_t base_len,
                         uint8_t *secret, uint8_t *key, uint8_t *salt);
/* nonce = salt XOR CTR (right-aligned, big-endian). */
void hc_sframe_nonce(uint8_t *nonce, const uint8_t *salt, size_t nn, uint64_t ctr);

/* A usable key for one KID of a suite we can run (0xF001, and 0x0005 where available). */
typedef struct {
    uint16_t suite;
    uint64_t kid;
    uint8_t key[32];
    uint8_t salt[12];
    crypto_aead_aes256gcm_state aes; /* expanded AES key, suite 0x0005 only */
} hc_sframe_key;

/* Returns 0, or -1 for a suite this machine cannot run. */
int hc_sframe_key_init(hc_sframe_key *k, uint16_t suite, uint64_t kid, const uint8_t *base_key, size_t base_len);
void hc_sframe_key_wipe(hc_sframe_key *k);
int hc_sframe_suite_available(uint16_t suite);

/* Seals one frame into out (header || ciphertext || tag). meta is authenticated, not sent.
 * Returns the frame length, or -1 if cap is too small or meta_len > HC_SFRAME_META_MAX.
 * Low-level: does not track CTR. */
int hc_sframe_seal(const hc_sframe_key *k, uint64_t ctr, const uint8_t *meta, size_t meta_len,
                   const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap);
/* Opens a frame. On success returns the plaintext length and sets *ctr; on any failure -1
 * (the KID in the header must equal k->kid; meta_len at most HC_SFRAME_META_MAX; cap at least
 * the plaintext length). pt may alias nothing in `in`. Check the replay window before and update
 * it only after this succeeded (crypto/replay.h). */
int hc_sframe_open(const hc_sframe_key *k, const uint8_t *in, size_t len,
                   const uint8_t *meta, size_t meta_len, uint8_t *pt, size_t cap, uint64_t *ctr);

/* A sending context: a key plus the next CTR. Refuses CTR reuse and overflow. */
typedef struct {
    hc_sframe_key key;
    uint64_t next_ctr;
    int exhausted;    /* set once CTR 2^64-1 has been used */
} hc_sframe_sender;
void hc_sframe_sender_init(hc_sframe_sender *s, const hc_sframe_key *k);
/* Returns the frame length, or -1 (no CTR left, or cap too small). */
int hc_sframe_sender_seal(hc_sframe_sender *s, const uint8_t *meta, size_t meta_len,
                          const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap);
void hc_sframe_sender_wipe(hc_sframe_sender *s);

/* ---- hushcall key derivation ---- */
uint64_t hc_kid_make(uint8_t stream, uint32_t sender_index, uint32_t epoch);
void hc_kid_split(uint64_t kid, uint8_t *stream, uint32_t *sender16, uint8_t *epoch8);
/* base_key (32 bytes) for (epoch, sender, stream) from the meeting key. */
void hc_frame_base_key(uint8_t base_key[32], const uint8_t mk[32], const uint8_t uuid[16],
                       const char *meeting_id, uint32_t epoch, uint32_t sender_index, uint8_t stream);
/* Convenience: base key, KID and hc_sframe_key in one step. Returns 0 or -1. */
int hc_frame_key(hc_sframe_key *k, uint16_t suite, const uint8_t mk[32], const uint8_t uuid[16],
                 const char *meeting_id, uint32_t epoch, uint32_t sender_index, uint8_t stream);

#endif
