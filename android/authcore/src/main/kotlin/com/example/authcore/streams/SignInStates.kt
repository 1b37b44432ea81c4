package com.example.authcore.streams

import com.example.authcore.SignInFlow
import com.example.authcore.SignInListener
import com.example.authcore.SignInState
import java.util.Collections
import java.util.WeakHashMap
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * The flow's screen as a [StateFlow]: it starts at [SignInFlow.state] and follows every change the
 * core tells the flow's [SignInListener] (gestures, waits for the phone, the move to an
 * organisation's sign-in host), so a screen collects it instead of registering a callback.
 *
 * The StateFlow takes the flow's one listener slot: do not also call `setListener`. Asking again
 * answers the same StateFlow. It lives as long as the flow (the Rust flow holds the listener);
 * values arrive from authcore's runtime threads, and collecting them on any dispatcher is safe.
 * Like every StateFlow it conflates: a collector sees the newest screen, not every one between.
 */
fun SignInFlow.stateFlow(): StateFlow<SignInState> = synchronized(observed) {
    observed.getOrPut(this) { SignInStates(this).state }
}

/** One StateFlow per flow, dropped with the flow (the value does not refer to its key). */
private val observed: MutableMap<SignInFlow, StateFlow<SignInState>> = Collections.synchronizedMap(WeakHashMap())

private class SignInStates(flow: SignInFlow) : SignInListener {
    private val lock = Any()
    private val states = MutableStateFlow(flow.state())
    val state: StateFlow<SignInState> = states.asStateFlow()

    init {
        flow.setListener(this)
        // A change between the first read and the registration reached no listener: read again.
        // The core stores a state before it tells the listener, and both writes hold the lock, so
        // this read never replaces a newer state (except the passing UseSignInHost, which is told
        // but not stored, and which the methods of that host replace at once).
        synchronized(lock) { states.value = flow.state() }
    }

    override fun onStateChanged(state: SignInState) {
        synchronized(lock) { states.value = state }
    }
}
