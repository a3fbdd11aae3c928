/* wire.h: message type numbers shared by every core. The first byte of every payload (what is
 * inside the envelope, see envelope.h) names its type; the agent routes by range:
 * 0x01-0x3f membership (membership.c), 0x40-0x5f Raft (raft_codec.c),
 * 0x60-0x6f configuration client (config_client.h: fetch and forwarded requests) and
 * key-ring queries, 0x70-0x7f the secure channel (channel.h): consumed below the cores, never
 * routed to one, 0x80-0x8f user events and queries (user_events.h). */
#ifndef HEARSAY_WIRE_H
#define HEARSAY_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#define HS_WIRE_VERSION 1

enum {
    HS_MSG_PING = 0x01,
    HS_MSG_PONG = 0x02,
    HS_MSG_PINGREQ = 0x03,
    HS_MSG_INDIRECT_ACK = 0x04,
    HS_MSG_SUSPECT = 0x05,
    HS_MSG_VOTE = 0x06,
    HS_MSG_GOSSIP = 0x07,
    HS_MSG_MEET = 0x08,
    HS_MSG_MEET_REPLY = 0x09,
    HS_MSG_REACH = 0x0a,     /* do you hear me? (before a failure verdict) */
    HS_MSG_REACH_ACK = 0x0b, /* yes */
    HS_MSG_TOMBS = 0x0c,     /* tombstones of reaped members (full-state exchange, answers) */
    HS_MSG_RAFT_FIRST = 0x40,
    HS_MSG_RAFT_LAST = 0x5f,
    HS_MSG_CONFIG_FIRST = 0x60,
    HS_MSG_CONFIG_FETCH = 0x60,      /* give me your configuration if newer than mine */
    HS_MSG_CONFIG_FETCH_RESP = 0x61, /* the answer: version, leader hint, configuration */
    HS_MSG_CONFIG_FWD = 0x62,        /* a change or consistent read for the leader */
    HS_MSG_CONFIG_FWD_RESP = 0x63,   /* its answer */
    HS_MSG_CONFIG_LAST = 0x6f,
    HS_MSG_KEYS_QUERY = 0x64, /* which key ring do you hold? (UDP or TCP) */
    HS_MSG_KEYS_STATE = 0x65, /* the answer */
    HS_MSG_CHANNEL_FIRST = 0x70,
    HS_MSG_CH_CHALLENGE = 0x70,        /* prove you are live at this address (datagram) */
    HS_MSG_CH_PROOF = 0x71,            /* the cookie of a challenge, answered */
    HS_MSG_CH_STREAM_CHALLENGE = 0x72, /* first frame of an accepted stream */
    HS_MSG_CH_STREAM_HELLO = 0x73,     /* first frame of a connecting stream: the echo */
    HS_MSG_CHANNEL_LAST = 0x7f,
    HS_MSG_UE_FIRST = 0x80,
    HS_MSG_UE_RECORDS = 0x80,  /* user events and queries: push, retransmission, repair, resend */
    HS_MSG_UE_ACK = 0x81,      /* delivered (an event fired with a wait, a query) */
    HS_MSG_UE_RESPONSE = 0x82, /* a query's answer, to its origin or to a relay */
    HS_MSG_UE_RESP_ACK = 0x83, /* the origin has the answer */
    HS_MSG_UE_DIGEST = 0x84,   /* repair: what I hold, per origin epoch */
    HS_MSG_UE_LAST = 0x8f,
};

static inline bool hs_msg_is_membership(uint8_t t)
{
    return t >= 0x01 && t < HS_MSG_RAFT_FIRST;
}
static inline bool hs_msg_is_raft(uint8_t t)
{
    return t >= HS_MSG_RAFT_FIRST && t <= HS_MSG_RAFT_LAST;
}
static inline bool hs_msg_is_config(uint8_t t)
{
    return t >= HS_MSG_CONFIG_FIRST && t <= HS_MSG_CONFIG_LAST;
}
static inline bool hs_msg_is_channel(uint8_t t)
{
    return t >= HS_MSG_CHANNEL_FIRST && t <= HS_MSG_CHANNEL_LAST;
}
static inline bool hs_msg_is_user(uint8_t t)
{
    return t >= HS_MSG_UE_FIRST && t <= HS_MSG_UE_LAST;
}

#endif
