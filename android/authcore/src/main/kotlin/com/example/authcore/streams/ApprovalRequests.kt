package com.example.authcore.streams

import com.example.authcore.Authenticator
import com.example.authcore.AuthenticatorException
import com.example.authcore.core.ApprovalRequest
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow

/** How [approvalRequests] asks the server. */
data class ApprovalPolling(
    /** Each long-poll waits this long on the server when nothing is pending (1 to 30 s). */
    val waitSeconds: UInt = 30u,
    /**
     * While a request already emitted is still pending the server answers at once; the next
     * question then waits this long, so an unanswered request does not make the stream spin.
     */
    val repeatDelay: Duration = 2.seconds,
    /** The pause after the first transient failure; it doubles with each further one. */
    val firstBackoff: Duration = 1.seconds,
    /** The longest pause between two failing questions. */
    val maxBackoff: Duration = 60.seconds,
) {
    init {
        require(waitSeconds in 1u..30u) { "waitSeconds is 1 to 30" }
        require(repeatDelay.isPositive() && firstBackoff.isPositive()) { "the delays are positive" }
        require(maxBackoff >= firstBackoff) { "maxBackoff is at least firstBackoff" }
    }
}

/**
 * The sign-ins waiting for this phone, each emitted once, over
 * [Authenticator.pendingApprovals]: the long-poll waits on the server, and the flow asks again as
 * soon as it answers, for as long as it is collected. Cancelling the collector cancels the
 * long-poll in flight (the Rust future is dropped) and asks nothing more.
 *
 * A request is emitted the first time an answer holds it and not again while it stays pending; it
 * is forgotten once an answer no longer holds it (answered, denied or expired on the server).
 *
 * Failures: a transient one ([isTransient]: the network, a timeout, a server error or an
 * unreadable answer, rate limiting) waits and asks again, [ApprovalPolling.firstBackoff] doubling
 * up to [ApprovalPolling.maxBackoff] (at least `retryAfterSeconds` when rate limited), and the
 * pause resets after an answer. Any other [AuthenticatorException] is permanent (an untrusted
 * certificate, this app must be updated, the phone was removed, the store or the device key is
 * unavailable...): asking again cannot help, so the flow ends by throwing it; the app shows it and
 * collects again once the user has acted.
 */
fun Authenticator.approvalRequests(polling: ApprovalPolling = ApprovalPolling()): Flow<ApprovalRequest> =
    approvalRequests(polling, fetch = { wait -> pendingApprovals(wait) })

/**
 * [Authenticator.approvalRequests] over any [fetch] with the shape of `pendingApprovals`, pausing
 * with [sleep]. For wrapping the call (metrics, tests); an app uses the extension.
 */
fun approvalRequests(
    polling: ApprovalPolling = ApprovalPolling(),
    sleep: suspend (Duration) -> Unit = { delay(it) },
    fetch: suspend (waitSeconds: UInt) -> List<ApprovalRequest>,
): Flow<ApprovalRequest> = flow {
    var emitted = emptySet<Pair<String, String>>()
    var failures = 0
    while (true) {
        val answer = try {
            fetch(polling.waitSeconds)
        } catch (e: AuthenticatorException) {
            if (!e.isTransient()) throw e
            failures += 1
            sleep(backoff(polling, failures, e))
            continue
        }
        failures = 0
        val pending = answer.map { it.account to it.id }
        val fresh = answer.filter { (it.account to it.id) !in emitted }
        emitted = pending.toSet()
        fresh.forEach { emit(it) }
        if (answer.isNotEmpty() && fresh.isEmpty()) sleep(polling.repeatDelay)
    }
}

/** A failure that asking again later can cure. */
fun AuthenticatorException.isTransient(): Boolean = when (this) {
    is AuthenticatorException.Network,
    is AuthenticatorException.Timeout,
    is AuthenticatorException.Server,
    is AuthenticatorException.Protocol,
    is AuthenticatorException.RateLimited,
    -> true
    else -> false
}

private fun backoff(polling: ApprovalPolling, failures: Int, error: AuthenticatorException): Duration {
    val doubled = polling.firstBackoff * (1L shl minOf(failures - 1, 20)).toDouble()
    val pause = minOf(doubled, polling.maxBackoff)
    return if (error is AuthenticatorException.RateLimited) {
        maxOf(pause, error.retryAfterSeconds.toLong().seconds)
    } else {
        pause
    }
}
