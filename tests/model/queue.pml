/*
 * queue.pml - SPIN model of the ring's queue mode (IPK_RING_QUEUE,
 * src/ring_pub.c and src/ring_sub.c): the consumer's two positions on its
 * page - pos, stored after every message, and shown, stored in steps, when
 * it finds nothing to read, at open and at close - the producer that
 * reuses only what shown gives back, and the producer's wait for room
 * (waiting, futex) against the consumer's show. Checked exhaustively, for
 * one producer and a consumer that may be killed once after any message
 * and is then followed by a successor.
 *
 * What it checks:
 *   1. the producer never overwrites a message the consumer has not read
 *      (assert: what the consumer reads at p is message p);
 *   2. no message is given twice, across a consumer's death (assert: the
 *      message given is the next one the application expects);
 *   3. no lost wake-up: a producer asleep for room is always woken when
 *      the consumer shows room, and a consumer never waits for data while
 *      the producer waits for room it could have (SPIN reports either
 *      blocked forever as an invalid end state).
 * The broadcast protocol under it (records, commit words, the doorbell)
 * is ring.pml's; here a record is one slot and committing it is one store.
 * Like ring.pml, it does not check C11 orderings: the store-load pairs it
 * relies on are the seq_cst fences of consumer_show() and wait_room().
 *
 * Build with -DBUG_NOWAKE (the consumer looks at waiting before it stores
 * shown: the store-load pair broken), -DBUG_SHOWN (a successor starts at
 * shown instead of pos) or -DBUG_NOSHOW (shown is never stored before the
 * consumer waits or at open: a step never completed is never shown) to get
 * one thing wrong each: the checker must then find an error
 * (tests/model/run-spin.sh asserts that it does).
 */
#define SLOTS 3 /* records the queue holds */
#define N 9     /* messages published */

byte data[SLOTS];
byte head = 0;    /* committed: messages 0 .. head - 1 */
byte pos = 0;     /* consumer page: all before it taken (every message) */
byte shown = 0;   /* consumer page: what the producer may reuse (in steps) */
byte waiting = 0; /* consumer page: a producer waits for room */
byte futex = 0;   /* consumer page: bumped by a consumer that shows */
byte given = 0;   /* ghost: messages handed to the application */
bool published = false; /* ghost: the producer published all N */
/* records between shows (QUEUE_STEP): less than the queue holds, as in
 * the ring, or more (a record larger than the room a step gives back) -
 * chosen by the consumer at its start */
byte step = 0;

active proctype producer()
{
	byte s = 0, seen = 0, w;

	do
	:: s < N ->
		/* queue_room(): the shown we loaded last, again when full */
		if
		:: s - seen >= SLOTS -> seen = shown
		:: else -> skip
		fi;
		if
		:: s - seen < SLOTS ->
			data[s % SLOTS] = s;
			head = s + 1; /* commit */
			s++
		:: else ->
			/* wait_room(): count ourselves, read the word, look again */
			waiting++;
			w = futex;
			seen = shown;
			if
			:: s - seen >= SLOTS -> (futex != w) /* FUTEX_WAIT until woken */
			:: else -> skip
			fi;
			waiting--;
			w = 0
		fi
	:: else -> break
	od;
	published = true
}

/* consumer_show(): shown, then (seq_cst fence) waiting, and wake */
inline consumer_show()
{
#ifdef BUG_NOWAKE
	nw = waiting;
	shown = p;
#else
	shown = p;
	nw = waiting;
#endif
	if
	:: nw > 0 -> futex++ /* + FUTEX_WAKE */
	:: else -> skip
	fi;
	nw = 0
}

active proctype consumer()
{
	byte p = 0, d, nw;
	bool crashed = false;

	if
	:: step = 2
	:: step = SLOTS + 1
	fi;
	do
	:: p == N -> break
	:: p < N && head > p ->
		d = data[p % SLOTS];
		assert(d == p); /* not overwritten */
		/* consumer_done(): pos after every message */
		atomic { p++; pos = p; assert(given == d); given++ };
		d = 0;
		if
		:: p - shown >= step ->
			consumer_show()
		:: else -> skip
		fi;
		/* killed here, once; a successor opens the page */
		if
		:: !crashed ->
			crashed = true;
#ifdef BUG_SHOWN
			p = shown;
#else
			p = pos;
#endif
#ifndef BUG_NOSHOW
			consumer_show() /* consumer_position(): show where we start */
#endif
		:: skip
		fi
	:: p < N && head <= p ->
		/* next_message(): nothing to read; show before waiting */
#ifndef BUG_NOSHOW
		if
		:: shown != p -> consumer_show()
		:: else -> skip
		fi;
#endif
		(head > p) /* the doorbell (ring.pml) */
	od
}
