/* Context strings of hushcall protocol v1 (PROTOCOL.md §2). Each is used for exactly one
 * purpose, so a signature or key made for one purpose is useless for any other. */
#ifndef HC_CONTEXTS_H
#define HC_CONTEXTS_H

#define HC_CTX_SIG_ANNOUNCEMENT   "hushcall-1-Sig-Announcement"
#define HC_CTX_SIG_PARTICIPANTS   "hushcall-1-Sig-ParticipantList"
#define HC_CTX_SIG_RESUME         "hushcall-1-Sig-Resume"
#define HC_CTX_KDF_KEYBOX         "hushcall-1-KDF-MeetingKeyBox"
#define HC_CTX_AD_KEYBOX          "hushcall-1-AD-MeetingKeyBox"
#define HC_CTX_SECURITY_CODE      "hushcall-1-SecurityCode"
#define HC_CTX_KDF_FRAMEKEY       "hushcall-1-KDF-FrameKey"

#endif
