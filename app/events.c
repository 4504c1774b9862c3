/* Event names as the headless front end prints them (one JSON "event" value per type). */
#include "app/events.h"

const char *hc_event_type_name(hc_event_type t) {
    switch (t) {
    case HC_EV_MEETING: return "meeting";
    case HC_EV_JOINED: return "joined";
    case HC_EV_PARTICIPANT_JOINED: return "participant_joined";
    case HC_EV_PARTICIPANT_LEFT: return "participant_left";
    case HC_EV_LEADER_CHANGED: return "leader_changed";
    case HC_EV_KEY_EPOCH: return "key_epoch";
    case HC_EV_SECURITY_CODE: return "security_code";
    case HC_EV_SECURITY_ALERT: return "security_alert";
    case HC_EV_HEARTBEAT_TIMEOUT: return "heartbeat_timeout";
    case HC_EV_CHAT: return "chat";
    case HC_EV_ADMISSION_REQUEST: return "admission_request";
    case HC_EV_MUTE_CHANGED: return "mute_changed";
    case HC_EV_LOCK_CHANGED: return "lock_changed";
    case HC_EV_VERIFIED: return "verified";
    case HC_EV_NOTICE: return "notice";
    case HC_EV_STATS: return "stats";
    case HC_EV_LEFT: return "left";
    case HC_EV_ERROR: return "error";
    case HC_EV_JOINING: return "joining";
    case HC_EV_RECORDING_FAILED: return "recording_failed";
    case HC_EV_RECONNECTING: return "reconnecting";
    case HC_EV_RECONNECTED: return "reconnected";
    case HC_EV_VIDEO_STARTED: return "video_started";
    case HC_EV_VIDEO_STOPPED: return "video_stopped";
    case HC_EV_CAMERA: return "camera";
    case HC_EV_WAITING: return "waiting";
    case HC_EV_ADMIT_POLICY: return "admission_policy";
    }
    return "unknown";
}
