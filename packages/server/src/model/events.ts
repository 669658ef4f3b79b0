import type { Tag } from './session.js';

/**
 * Events of the recording domain, in the MediaSense envelope's terms (reference §7: eventType +
 * eventAction + body). The recording service publishes them on the node's in-process bus
 * (events/event-bus.ts); the event-subscription API and webhooks deliver them later. The
 * RECORDING_EVENT type is a Verbatim extension for what MediaSense kept silent about: calls it
 * refused, recordings it cannot decode and outbound recordings that could not start.
 */
export type VerbatimEvent =
  | {
      readonly eventType: 'SESSION_EVENT';
      readonly eventAction: 'STARTED' | 'ENDED';
      readonly sessionId: string;
      readonly at: number;
    }
  | {
      /**
       * A session changed after it started, while or after recording: a tag added or deleted
       * (session or track tags: pause, resume, hold, DTMF, user tags), its participants changed
       * (CUCM or SIPREC mid-call updates), a track added. Published once the change is stored;
       * subscribers read the session itself (the event stays cheap to publish).
       */
      readonly eventType: 'SESSION_EVENT';
      readonly eventAction: 'UPDATED';
      readonly sessionId: string;
      /** `media`: an MP4 conversion of the session became available (convertSession, mp4Url). */
      readonly change: 'tags' | 'participants' | 'tracks' | 'media';
      readonly at: number;
    }
  | {
      /**
       * Sessions whose media was pruned (the retention policy, storage/retention.ts), batched as
       * DELETED.
       */
      readonly eventType: 'SESSION_EVENT';
      readonly eventAction: 'PRUNED';
      readonly sessionIds: readonly string[];
      readonly at: number;
    }
  | {
      /**
       * Sessions a deletion job deleted, batched (MediaSense sent DELETED progress in batches,
       * addendum §4): at most 100 ids an event, at least one event a second while a job deletes.
       */
      readonly eventType: 'SESSION_EVENT';
      readonly eventAction: 'DELETED';
      readonly sessionIds: readonly string[];
      readonly jobId: number;
      readonly at: number;
    }
  | {
      readonly eventType: 'TAG_EVENT';
      /**
       * DELETED: deleteSessionTag removed a user tag (DG90-p45 names tag deletion events).
       * UPDATED: MediaSense's for a time-bound user tag changed (DG91-p147): addSessionTag with an
       * offset for a name the session carries as a whole-session tag places that tag at the offset.
       */
      readonly eventAction: 'ADDED' | 'UPDATED' | 'DELETED';
      readonly sessionId: string;
      readonly tag: Tag;
      readonly at: number;
    }
  | {
      /** An INVITE was refused (SIP status and reason, and why). */
      readonly eventType: 'RECORDING_EVENT';
      readonly eventAction: 'REJECTED';
      readonly callId: string;
      readonly controllerIp: string;
      readonly sipStatus: number;
      readonly reason: string;
      readonly at: number;
    }
  | {
      /** A session records a codec no export can decode: it is stored raw and flagged. */
      readonly eventType: 'RECORDING_EVENT';
      readonly eventAction: 'UNDECODABLE';
      readonly sessionId: string;
      readonly tracks: readonly {
        readonly trackNumber: number;
        readonly codec: string;
        readonly clockRateHz: number;
      }[];
      readonly at: number;
    }
  | {
      /**
       * A direct outbound recording (startRecording) did not start: the device was busy, did not
       * answer, refused, the controller refused our credentials or could not be reached.
       */
      readonly eventType: 'RECORDING_EVENT';
      readonly eventAction: 'OUTBOUND_FAILED';
      readonly deviceRef: string;
      readonly callId: string;
      readonly reason: 'busy' | 'no-answer' | 'rejected' | 'auth-failed' | 'unreachable' | 'cancelled';
      /** The final SIP status, when the controller sent one. */
      readonly sipStatus?: number;
      readonly detail: string;
      readonly at: number;
    }
  | {
      /** The media partition crossed a threshold (MediaSense's storageThresholdEvent, storage/storage-thresholds.ts). */
      readonly eventType: 'STORAGE_THRESHOLD_EVENT';
      readonly eventAction:
        | 'ENTER_LOW_STORAGE_SPACE'
        | 'EXIT_LOW_STORAGE_SPACE'
        | 'ENTER_CRITICAL_STORAGE_SPACE'
        | 'EXIT_CRITICAL_STORAGE_SPACE'
        | 'ENTER_EMERGENCY_STORAGE_SPACE'
        | 'EXIT_EMERGENCY_STORAGE_SPACE';
      readonly nodeId: string;
      readonly partition: string;
      readonly percentageUtilization: number;
      readonly at: number;
    };

/** Where a service publishes its events (the bus implements it; tests may collect them). */
export interface EventSink {
  publish(event: VerbatimEvent): void;
}
