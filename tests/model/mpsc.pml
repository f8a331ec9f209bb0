/*
 * mpsc.pml - SPIN model of ipk_mpsc's lanes (src/mpsc*.c): the claim,
 * commit and skip protocol of a producer that may be killed at any step,
 * the mark that keeps stale bytes from passing for a commit, and the
 * consumer's doorbell. Two lanes: producer 0 may be killed at any point,
 * producer 1 is never killed; one consumer serves both.
 *
 * What it checks:
 *   1. the consumer never delivers a torn or uncommitted record: every
 *      record it takes holds the message committed at its position, even
 *      when the bytes there, left from an earlier lap, look exactly like
 *      the record it expects (assert);
 *   2. a dead producer blocks nobody: the consumer delivers all of the
 *      other producer's messages and ends (SPIN reports a consumer or a
 *      producer blocked for ever as an invalid end state);
 *   3. nothing committed is lost and the half-written record is counted:
 *      at the end, for each lane, delivered == committed, and skipped is
 *      1 exactly when the dead producer claimed a record it did not
 *      commit (assert);
 *   4. no lost wake-up: the consumer asleep on the doorbell is woken by
 *      every commit; it wakes by its sleep slice (SPIN's timeout: nothing
 *      else can move) with a committed record waiting only when that
 *      record's producer died between its commit and the doorbell
 *      (assert).
 * What it does not check: C11 weak orderings (SPIN interleaves statements
 * sequentially consistently; the memory orders are the table in
 * src/mpsc_layout.h, checked by ThreadSanitizer in tests/mpsc/threads.c);
 * PAD records (a PAD is a record with its own commit word, like any); the
 * consumer's restart (tests/mpsc/restart.c).
 *
 * A lane has SLOTS one-slot records; a record is w0, a payload of two
 * words (pa, pb: a producer killed between them leaves half a payload)
 * and the seq word sq, the commit word. Positions are message numbers.
 * Build with -DBUG_EARLY (the commit word stored before the payload),
 * -DBUG_NOMARK (no mark: stale bytes can pass for a commit), -DBUG_HUP
 * (a lane forgotten as soon as its producer hangs up, before it is
 * drained) or -DBUG_NOWAKE (the doorbell read before the commit): the
 * checker must then find an error (tests/model/run-spin.sh asserts that
 * it does).
 */
#define SLOTS 2
#define N0 3 /* messages producer 0 tries to send */
#define N1 3
#define NONE 255

byte w0[2 * SLOTS];
byte pa[2 * SLOTS];
byte pb[2 * SLOTS];
byte sq[2 * SLOTS] = NONE; /* a new lane's first seq word is NONE */
byte claim[2];
byte pos[2];       /* the consumer's position, stored in the lane */
bool hup[2];       /* the producer's connection closed (end or death) */
byte committed[2]; /* ghost: messages whose commit word is stored */
bit sleeping = 0;  /* doorbell: the consumer sleeps */
byte futex = 0;    /* doorbell: the futex word */

#define AT(l, s) ((l) * SLOTS + (s) % SLOTS)

/* One step of producer 0 may be its last: killed (SIGKILL). */
#define MAYDIE if :: (l == 0) -> goto dead :: skip fi

proctype producer(byte l; byte n)
{
	byte s = 0;

	do
	:: s < n ->
		/* room: the record and the mark after it (the room futex is
		 * abstracted: the producer waits until the consumer moved) */
		(s + 1 - pos[l] < SLOTS);
		MAYDIE;
		claim[l] = s + 1; /* K */
		MAYDIE;
		/* the bytes where the next record goes may look like it */
		if
		:: sq[AT(l, s + 1)] = s + 1; w0[AT(l, s + 1)] = s + 1;
		   pa[AT(l, s + 1)] = s + 1; pb[AT(l, s + 1)] = s + 1
		:: skip
		fi;
#ifdef BUG_EARLY
		atomic { sq[AT(l, s)] = s; committed[l] = s + 1 };
#endif
		pa[AT(l, s)] = s;
		MAYDIE;
		pb[AT(l, s)] = s;
		MAYDIE;
#ifndef BUG_NOMARK
		sq[AT(l, s + 1)] = NONE; /* M */
		MAYDIE;
#endif
		w0[AT(l, s)] = s;
		MAYDIE;
#ifdef BUG_NOWAKE
		if
		:: sleeping -> futex++
		:: else -> skip
		fi;
#endif
#ifndef BUG_EARLY
		atomic { sq[AT(l, s)] = s; committed[l] = s + 1 }; /* C */
#endif
		MAYDIE;
#ifndef BUG_NOWAKE
		/* S: the doorbell after the commit (seq_cst pair) */
		if
		:: sleeping -> futex++ /* + FUTEX_WAKE; the consumer clears sleeping */
		:: else -> skip
		fi;
#endif
		s++
	:: else -> break
	od;
dead:
	hup[l] = 1 /* the kernel closes its connection, however it ended */
}

active proctype consumer()
{
	byte p[2], l, f, skipped = 0, delivered[2];
	bit gone[2], found, retired[2];

	do
	:: retired[0] && retired[1] -> break
	:: else ->
		found = 0;
		l = 0;
		do
		:: l < 2 ->
			if
			:: !retired[l] && sq[AT(l, p[l])] != NONE ->
				/* take_from(): the commit word (acquire), then the bytes */
				assert(sq[AT(l, p[l])] == p[l]);
				assert(w0[AT(l, p[l])] == p[l] && pa[AT(l, p[l])] == p[l] &&
				       pb[AT(l, p[l])] == p[l]);
				assert(p[l] < committed[l]);
				p[l]++;
				delivered[l]++;
				pos[l] = p[l]; /* P */
				found = 1
			:: !retired[l] && sq[AT(l, p[l])] == NONE && gone[l] ->
				/* check(): hung up and drained (after the hang-up) */
				if
				:: claim[l] > p[l] -> skipped++
				:: else -> skip
				fi;
				retired[l] = 1;
				found = 1
			:: else -> skip
			fi;
			l++
		:: else -> break
		od;
		/* check(): notice hang-ups */
		l = 0;
		do
		:: l < 2 ->
			if
			:: hup[l] && !gone[l] ->
#ifdef BUG_HUP
				/* forgotten at once, committed records or not */
				if
				:: claim[l] > p[l] -> skipped++
				:: else -> skip
				fi;
				retired[l] = 1;
#endif
				gone[l] = 1; found = 1
			:: else -> skip
			fi;
			l++
		:: else -> break
		od;
		if
		:: !found && !(retired[0] && retired[1]) ->
			/* wait_some(): sleeping = 1, fence, read the word, look again */
			sleeping = 1;
			f = futex;
			if
			:: (retired[0] || sq[AT(0, p[0])] == NONE) &&
			   (retired[1] || sq[AT(1, p[1])] == NONE) ->
				if
				:: futex != f -> skip /* woken */
				:: timeout ->
					/* the sleep slice: needed for a hang-up, or for
					 * a commit whose producer died before the
					 * doorbell, never for a live one's commit */
					assert((retired[0] || sq[AT(0, p[0])] == NONE || hup[0]) &&
					       (retired[1] || sq[AT(1, p[1])] == NONE || hup[1]))
				fi
			:: else -> skip
			fi;
			sleeping = 0;
			f = 0
		:: else -> skip
		fi
	od;
	assert(delivered[0] == committed[0] && delivered[1] == committed[1]);
	assert(committed[1] == N1);
	assert(skipped == claim[0] - committed[0]);
	assert(skipped <= 1)
}

init
{
	atomic {
		run producer(0, N0);
		run producer(1, N1)
	}
}
