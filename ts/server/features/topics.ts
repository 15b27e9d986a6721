// Topics: publish/subscribe between connections (PROTOCOL §12, §3.5). Nothing is persisted.
//
// TOPIC_SUB: READ on "topic:<t>" (else ERROR 403), a valid name (else ERROR 400 "Invalid topic
// name"), at most limits.topicsPerConnectionMax topics per connection and
// limits.topicSubscribersMax connections per topic (else ERROR 400 "Subscription limit
// reached"); no success reply; subscribing twice is a no-op. TOPIC_UNSUB: no check, no reply.
// TOPIC_PUB: PUT on "topic:<t>", a valid name; TOPIC_MESSAGE { topic, data, publisherId,
// timestamp } to every subscriber except the publisher's own connection. `data` goes out exactly
// as it came in: an explicit nil stays nil and an absent `data` stays absent. The message is
// encoded once for all subscribers and sent synchronously, so each subscriber sees one
// publisher's messages in publish order.

import { limits } from "../../core/limits.js";
import { serialize } from "../../protocol/codec.js";
import type { TopicPubMessage, TopicSubMessage, TopicUnsubMessage } from "../../protocol/messages.js";
import type { RunningParts } from "../server.js";
import type { Session } from "../session.js";

const topicNamePattern = /^[A-Za-z0-9_.:/-]+$/;

/** §12: 1 to 256 characters, only ASCII letters, digits and `_ - . : /`. */
export function isValidTopicName(topic: string): boolean {
  return topic.length >= 1 && topic.length <= limits.topicNameLengthMax && topicNamePattern.test(topic);
}

/** Registers TOPIC_SUB / TOPIC_UNSUB / TOPIC_PUB and drops a connection's subscriptions when it closes. */
export function topicsFeature({ context, protocol }: RunningParts): void {
  /** topic → subscribed sessions; a topic without subscribers has no entry. */
  const subscribers = new Map<string, Set<Session>>();
  /** session id → its topics. */
  const topicsOf = new Map<string, Set<string>>();
  const registry = context.registry;
  const subscriptionGauge = registry.gauge({ name: "topgun_topic_subscriptions", help: "Topic subscriptions (connection, topic) held." });
  const deliveredCounter = registry.counter({ name: "topgun_topic_messages_delivered_total", help: "TOPIC_MESSAGEs sent to subscribers." });

  const unsubscribe = (session: Session, topic: string): void => {
    const sessions = subscribers.get(topic);
    if (sessions === undefined || !sessions.delete(session)) return;
    if (sessions.size === 0) subscribers.delete(topic);
    subscriptionGauge.dec();
  };

  protocol.register("TOPIC_SUB", (session: Session, message) => {
    const { topic } = (message as TopicSubMessage).payload;
    if (!context.policies.checkPermission(session.principal!, `topic:${topic}`, "READ")) {
      session.sendError(403, `Access Denied for topic ${topic}`);
      return;
    }
    if (!isValidTopicName(topic)) {
      session.sendError(400, "Invalid topic name");
      return;
    }
    let topics = topicsOf.get(session.id);
    if (topics?.has(topic) === true) return;
    const sessions = subscribers.get(topic);
    if ((topics?.size ?? 0) >= limits.topicsPerConnectionMax || (sessions?.size ?? 0) >= limits.topicSubscribersMax) {
      session.sendError(400, "Subscription limit reached");
      return;
    }
    if (topics === undefined) topicsOf.set(session.id, (topics = new Set()));
    topics.add(topic);
    if (sessions === undefined) subscribers.set(topic, new Set([session]));
    else sessions.add(session);
    subscriptionGauge.inc();
  });

  protocol.register("TOPIC_UNSUB", (session: Session, message) => {
    const { topic } = (message as TopicUnsubMessage).payload;
    const topics = topicsOf.get(session.id);
    if (topics === undefined || !topics.delete(topic)) return;
    if (topics.size === 0) topicsOf.delete(session.id);
    unsubscribe(session, topic);
  });

  protocol.register("TOPIC_PUB", (session: Session, message) => {
    const payload = (message as TopicPubMessage).payload;
    const topic = payload.topic;
    if (!context.policies.checkPermission(session.principal!, `topic:${topic}`, "PUT")) {
      session.sendError(403, `Access Denied for topic ${topic}`);
      return;
    }
    if (!isValidTopicName(topic)) {
      session.sendError(400, "Invalid topic name");
      return;
    }
    const sessions = subscribers.get(topic);
    if (sessions === undefined) return;
    const outbound = "data" in payload
      ? { topic, data: payload.data, publisherId: session.id, timestamp: context.wall() }
      : { topic, publisherId: session.id, timestamp: context.wall() };
    let bytes: Uint8Array | undefined;
    for (const subscriber of sessions) {
      if (subscriber === session) continue;
      bytes ??= serialize({ type: "TOPIC_MESSAGE", payload: outbound });
      if (subscriber.sendEncoded("TOPIC_MESSAGE", bytes)) deliveredCounter.inc();
    }
  });

  protocol.onSessionClose((session) => {
    const topics = topicsOf.get(session.id);
    if (topics === undefined) return;
    topicsOf.delete(session.id);
    for (const topic of topics) unsubscribe(session, topic);
  });
}
