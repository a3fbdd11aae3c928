/* http_metrics.c: GET /v1/metrics in the Prometheus text format: the core's hs_node_stats,
 * member counts, and the transports' own counters (packets, bytes, drops by reason). */
#include <inttypes.h>
#include <stdarg.h>

#include <event2/buffer.h>

#include "handlers.h"
#include "hearsay/cluster_config.h"
#include "hearsay/fd_settings.h"
#include "hearsay/raft.h"
#include "clock.h"
#include "http_internal.h"
#include "state.h"

static void metric(struct evbuffer *b, const char *name, const char *type, const char *help)
{
    evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void val(struct evbuffer *b, const char *name, const char *labels, uint64_t v)
{
    if (labels)
        evbuffer_add_printf(b, "%s{%s} %" PRIu64 "\n", name, labels, v);
    else
        evbuffer_add_printf(b, "%s %" PRIu64 "\n", name, v);
}

static void counter(struct evbuffer *b, const char *name, const char *help, uint64_t v)
{
    metric(b, name, "counter", help);
    val(b, name, NULL, v);
}

static void gauge(struct evbuffer *b, const char *name, const char *help, uint64_t v)
{
    metric(b, name, "gauge", help);
    val(b, name, NULL, v);
}

/* The API's limits (http_conns.c, http_slots.c, events.c; docs/api.md "Limits"). */
static void api_limits(struct evbuffer *b)
{
    char lab[96];
    const hsd_http_stats *hs = hsd_http_get_stats();
    gauge(b, "hearsay_api_connections", "Open connections on the API socket.",
          hsd_http_conns_open());
    uint64_t refused = 0;
    for (int w = HSD_SLOT_FULL; w < HSD_SLOT_WHYS; w++)
        refused += hsd_slots_refused(HSD_SLOT_CONN, w);
    counter(b, "hearsay_api_connections_refused_total",
            "API socket connections closed at once: no slot of the peer's share was free.",
            refused);
    metric(b, "hearsay_api_slots", "gauge",
           "API connections, event streams and key surveys held, by privileged and other peers.");
    for (int k = 0; k < HSD_SLOTS; k++)
        for (int priv = 1; priv >= 0; priv--) {
            snprintf(lab, sizeof(lab), "slot=\"%s\",class=\"%s\"", hsd_slot_name(k),
                     priv ? "privileged" : "reader");
            val(b, "hearsay_api_slots", lab, hsd_slots_used(k, priv));
        }
    metric(b, "hearsay_api_refused_total", "counter",
           "API connections, event streams and key surveys refused, by reason: full (the limit), "
           "readers (the unprivileged share), uid (one uid's share).");
    for (int k = 0; k < HSD_SLOTS; k++)
        for (int w = HSD_SLOT_FULL; w < HSD_SLOT_WHYS; w++) {
            snprintf(lab, sizeof(lab), "slot=\"%s\",reason=\"%s\"", hsd_slot_name(k),
                     hsd_slot_why_name(w));
            val(b, "hearsay_api_refused_total", lab, hsd_slots_refused(k, w));
        }
    metric(b, "hearsay_api_deadline_closed_total", "counter",
           "API connections closed because the request was not complete or the answer not "
           "written by its deadline.");
    val(b, "hearsay_api_deadline_closed_total", "phase=\"request\"", hs->deadline_closed[0]);
    val(b, "hearsay_api_deadline_closed_total", "phase=\"answer\"", hs->deadline_closed[1]);
    counter(b, "hearsay_event_streams_lagged_total",
            "Event streams ended because their client fell more than the event buffer behind.",
            hsd_events_lagged());
    gauge(b, "hearsay_monitor_streams", "Open GET /v1/monitor streams.", hsd_monitor_streams());
    counter(b, "hearsay_monitor_lines_dropped_total",
            "Log lines not sent to a monitor client that read too slowly.", hsd_monitor_dropped());
}

/* Force-leave, name conflicts and the failure-detection settings in effect. */
static void operator_metrics(struct evbuffer *b, const hs_agent *a)
{
    const hs_node *node = hs_agent_node(a);
    const hs_node_stats *s = hs_node_stats_get(node);
    size_t conflicts = 0, total = hs_node_member_count(node);
    hs_member_info mi;
    for (size_t i = 0; i < total; i++)
        if (hs_node_member_at(node, i, &mi) && hs_node_conflict(node, mi.name, NULL)) conflicts++;
    counter(b, "hearsay_removed_refused_total",
            "Messages from, and entries about, members removed by force-leave that were refused.",
            s->removed_refused);
    gauge(b, "hearsay_removed_members", "Names removed by force-leave in the configuration.",
          hs_agent_config(a)->n_removed);
    counter(b, "hearsay_name_checks_total",
            "Claims of a live member's name at another address that were checked.", s->name_checks);
    counter(b, "hearsay_name_conflicts_total", "Names found answered for at two addresses.",
            s->name_conflicts);
    gauge(b, "hearsay_name_conflicts", "Members whose name two addresses answer for now.",
          conflicts);
    char lab[64];
    metric(b, "hearsay_fd_profile", "gauge", "The failure-detection profile in effect (1).");
    snprintf(lab, sizeof(lab), "profile=\"%s\"", hs_fd_profile_name(hs_agent_fd_profile(a)));
    val(b, "hearsay_fd_profile", lab, 1);
    gauge(b, "hearsay_fd_probe_interval_ms", "The probe interval in effect.",
          hs_node_config(node)->probe_interval_ms);
}

/* User events and queries (user_events.h). */
static void user_metrics(struct evbuffer *b, const hs_agent *a)
{
    const hs_ue_stats *u = hs_agent_ue_stats(a);
    counter(b, "hearsay_user_events_fired_total", "User events fired here.", u->fired);
    counter(b, "hearsay_user_events_delivered_total", "User events delivered here (handlers).",
            u->delivered);
    counter(b, "hearsay_user_events_coalesced_total", "User events superseded by a newer one.",
            u->coalesced);
    counter(b, "hearsay_queries_total", "Queries started here.", u->queries);
    counter(b, "hearsay_queries_delivered_total", "Queries delivered here.", u->queries_delivered);
    counter(b, "hearsay_query_answers_sent_total", "Query answers (and declines) sent.",
            u->responses_sent);
    counter(b, "hearsay_user_duplicates_total", "User-event records received again (dropped).",
            u->duplicates);
    counter(b, "hearsay_user_refused_old_total",
            "User-event records refused: fired before this agent started, or too old.",
            u->refused_old + u->refused_floor);
    counter(b, "hearsay_user_bytes_out_total", "Bytes of user-event traffic sent.", u->bytes_out);
    counter(b, "hearsay_user_deferred_total",
            "User-event sends deferred by the budget (--user-event-budget).", u->deferred);
    counter(b, "hearsay_user_repairs_total", "User-event records sent to repair a digest.",
            u->repairs_sent);
    gauge(b, "hearsay_user_lamport_time", "The user-event Lamport clock.", hs_agent_user_clock(a));
}

void hsd_api_metrics(hsd_engine *e, struct evhttp_request *req)
{
    const hs_agent *a = hsd_engine_agent(e);
    const hs_node *node = hs_agent_node(a);
    const hsd_wire_stats *w = hsd_engine_wire(e);
    const hsd_handlers_stats *hst = hsd_handlers_get_stats();
    const hsd_state_stats *sst = hsd_state_get_stats();
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    const hs_node_stats *s = hs_node_stats_get(node);
    size_t counts[4] = {0, 0, 0, 0};
    hs_node_status_counts(node, counts);
    char lab[96];

    metric(b, "hearsay_members", "gauge", "Members known to this agent by status.");
    for (int st = 0; st < 4; st++) {
        snprintf(lab, sizeof(lab), "status=\"%s\"", hs_status_name((hs_status)st));
        val(b, "hearsay_members", lab, counts[st]);
    }
    gauge(b, "hearsay_member_table_bytes", "Bytes used by the member table.",
          hs_node_table_bytes(node));
    gauge(b, "hearsay_incarnation", "Our own incarnation number.", hs_agent_incarnation(a));
    gauge(b, "hearsay_uptime_seconds", "Seconds since the agent started.",
          (hsd_now_ms() - hsd_engine_started_ms(e)) / 1000);
    gauge(b, "hearsay_leaving", "1 while the agent is leaving the cluster.", hsd_engine_leaving(e));

    counter(b, "hearsay_messages_in_total", "Messages accepted by the membership core.",
            s->msgs_in);
    counter(b, "hearsay_messages_out_total", "Messages produced by the membership core.",
            s->msgs_out);
    counter(b, "hearsay_message_bytes_in_total", "Payload bytes into the membership core.",
            s->bytes_in);
    counter(b, "hearsay_message_bytes_out_total", "Payload bytes out of the membership core.",
            s->bytes_out);
    metric(b, "hearsay_core_dropped_total", "counter",
           "Messages the membership core dropped, by reason.");
    val(b, "hearsay_core_dropped_total", "reason=\"malformed\"", s->drop_malformed);
    val(b, "hearsay_core_dropped_total", "reason=\"version\"", s->drop_version);
    val(b, "hearsay_core_dropped_total", "reason=\"unknown_type\"", s->drop_unknown_type);
    val(b, "hearsay_core_dropped_total", "reason=\"not_member\"", s->drop_not_member);
    val(b, "hearsay_core_dropped_total", "reason=\"self\"", s->drop_self);
    counter(b, "hearsay_probes_sent_total", "Direct probes (Ping) sent.", s->probes_sent);
    counter(b, "hearsay_probes_failed_total", "Probes that got no answer.", s->probes_failed);
    counter(b, "hearsay_indirect_probes_sent_total", "Indirect probe requests sent.",
            s->indirect_sent);
    counter(b, "hearsay_suspicions_total", "Members this agent started to suspect.", s->suspicions);
    counter(b, "hearsay_refutations_total", "Suspicions of ourselves we refuted.", s->refutations);
    counter(b, "hearsay_votes_sent_total", "Failure votes sent.", s->votes_sent);
    counter(b, "hearsay_failures_declared_total", "Failures declared by this agent.",
            s->failures_declared);
    counter(b, "hearsay_gossip_pushes_total", "Gossip pushes sent.", s->gossip_pushes);
    counter(b, "hearsay_syncs_total", "Full-state exchanges (join and anti-entropy).", s->syncs);
    gauge(b, "hearsay_tombstones", "Reaped members whose last incarnation is kept.",
          hs_node_tombstone_count(node));
    counter(b, "hearsay_tombstone_refused_total",
            "Entries about reaped members that their tombstone refused.", s->tombstone_refused);
    operator_metrics(b, a);

    metric(b, "hearsay_transport_packets_in_total", "counter",
           "Datagrams and stream frames received.");
    val(b, "hearsay_transport_packets_in_total", "transport=\"udp\"", w->udp_in);
    val(b, "hearsay_transport_packets_in_total", "transport=\"tcp\"", w->tcp_frames_in);
    metric(b, "hearsay_transport_packets_out_total", "counter",
           "Datagrams and stream frames sent.");
    val(b, "hearsay_transport_packets_out_total", "transport=\"udp\"", w->udp_out);
    val(b, "hearsay_transport_packets_out_total", "transport=\"tcp\"", w->tcp_frames_out);
    metric(b, "hearsay_transport_bytes_in_total", "counter", "Bytes received, envelopes included.");
    val(b, "hearsay_transport_bytes_in_total", "transport=\"udp\"", w->udp_bytes_in);
    val(b, "hearsay_transport_bytes_in_total", "transport=\"tcp\"", w->tcp_bytes_in);
    metric(b, "hearsay_transport_bytes_out_total", "counter", "Bytes sent, envelopes included.");
    val(b, "hearsay_transport_bytes_out_total", "transport=\"udp\"", w->udp_bytes_out);
    val(b, "hearsay_transport_bytes_out_total", "transport=\"tcp\"", w->tcp_bytes_out);
    metric(b, "hearsay_transport_dropped_total", "counter",
           "Packets and frames the agent dropped before the core, by reason.");
    for (int r = 1; r < HS_ENV_RESULT_COUNT; r++) {
        snprintf(lab, sizeof(lab), "reason=\"%s\"", hs_env_result_name((hs_env_result)r));
        val(b, "hearsay_transport_dropped_total", lab, w->env_drops[r]);
    }
    for (int r = 0; r < HSD_DROP_COUNT; r++) {
        snprintf(lab, sizeof(lab), "reason=\"%s\"", hsd_drop_name(r));
        val(b, "hearsay_transport_dropped_total", lab, w->drops[r]);
    }
    static const hs_ch_verdict refused[] = {HS_CH_REPLAY, HS_CH_UNPROVEN, HS_CH_BAD_COOKIE,
                                            HS_CH_MALFORMED};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        snprintf(lab, sizeof(lab), "reason=\"%s%s\"",
                 refused[i] == HS_CH_MALFORMED ? "channel_" : "", hs_ch_verdict_name(refused[i]));
        val(b, "hearsay_transport_dropped_total", lab, w->ch_drops[refused[i]]);
    }
    const hs_ch_stats *cs = hs_channel_stats(hsd_engine_channel(e));
    counter(b, "hearsay_channel_challenges_sent_total",
            "Challenges sent to senders not proven at their address.", cs->challenges_sent);
    counter(b, "hearsay_channel_challenges_limited_total",
            "Challenges not sent: the per-source or total budget was spent.",
            cs->challenges_limited);
    counter(b, "hearsay_channel_proofs_sent_total", "Challenges this agent answered.",
            cs->proofs_sent);
    counter(b, "hearsay_channel_proofs_accepted_total", "Senders proven by their answer.",
            cs->proofs_accepted);
    counter(b, "hearsay_channel_resends_total", "Datagrams sent again after a proof.", cs->resends);
    gauge(b, "hearsay_channel_peers", "Proven sender instances remembered.", cs->peers);
    counter(b, "hearsay_channel_peers_evicted_total",
            "Proven senders forgotten to make room (they prove themselves again).",
            cs->peers_evicted);
    unsigned cin = 0, cout = 0;
    hsd_engine_conns(e, &cin, &cout);
    metric(b, "hearsay_tcp_connections", "gauge", "Open TCP connections by direction.");
    val(b, "hearsay_tcp_connections", "direction=\"in\"", cin);
    val(b, "hearsay_tcp_connections", "direction=\"out\"", cout);
    counter(b, "hearsay_tcp_accepted_total", "TCP connections accepted.", w->tcp_accepted);
    counter(b, "hearsay_tcp_connects_total", "TCP connections opened.", w->tcp_connects);
    counter(b, "hearsay_events_total", "Membership events published.", hsd_engine_events_total(e));
    counter(b, "hearsay_handlers_run_total", "Event handlers started.", hst->run);
    counter(b, "hearsay_handlers_failed_total", "Event handlers that exited non-zero.",
            hst->failed);
    counter(b, "hearsay_handlers_timeout_total", "Event handlers killed at their timeout.",
            hst->timeout);
    counter(b, "hearsay_handlers_dropped_total", "Events dropped: handler queue full.",
            hst->dropped);
    gauge(b, "hearsay_event_streams", "Open GET /v1/events streams.", hsd_events_streams());
    counter(b, "hearsay_http_requests_total", "HTTP API requests.", hsd_http_get_stats()->requests);
    api_limits(b);
    const hs_raft *r = hs_agent_raft(a);
    gauge(b, "hearsay_config_version", "Version of the cluster configuration this agent holds.",
          hs_agent_config(a)->version);
    gauge(b, "hearsay_raft_is_leader", "1 on the Raft leader (seeds only).",
          r && hs_raft_get_role(r) == HS_RAFT_LEADER);
    gauge(b, "hearsay_raft_term", "Current Raft term (seeds only).", r ? hs_raft_term(r) : 0);
    gauge(b, "hearsay_raft_commit_index", "Raft commit index (seeds only).",
          r ? hs_raft_commit(r) : 0);
    gauge(b, "hearsay_raft_applied_index", "Raft applied index (seeds only).", hs_agent_applied(a));
    user_metrics(b, a);
    counter(b, "hearsay_state_saves_total", "State files written to the data dir.", sst->saves);
    counter(b, "hearsay_state_save_errors_total", "State files that could not be written.",
            sst->save_errors);

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}
