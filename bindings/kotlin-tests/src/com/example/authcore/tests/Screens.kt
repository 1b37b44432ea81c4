package com.example.authcore.tests

import com.example.authcore.core.MethodKind
import com.example.authcore.Session
import com.example.authcore.SignInFlow
import com.example.authcore.SignInListener
import com.example.authcore.core.SignInMethod
import com.example.authcore.SignInState
import java.util.Collections
import org.junit.Assert.fail

/** Remembers every screen the flow showed, by name. */
class ScreenRecorder : SignInListener {
    val screens: MutableList<String> = Collections.synchronizedList(mutableListOf())

    override fun onStateChanged(state: SignInState) {
        screens.add(state::class.simpleName ?: "?")
    }
}

/** The entry of the method list the user taps. */
fun SignInState.method(kind: MethodKind): SignInMethod {
    val list = this as? SignInState.ChooseMethod ?: error("expected the method list, got $this")
    return list.methods.firstOrNull { it.kind == kind } ?: error("no $kind in ${list.methods}")
}

inline fun <reified T : SignInState> SignInState.expect(): T =
    this as? T ?: error("expected ${T::class.simpleName}, got $this")

fun SignInState.session(): Session = expect<SignInState.Done>().session

/** Email -> Password -> on a new device the "Confirm it's you" code by email. */
suspend fun passwordSteps(flow: SignInFlow, email: String, password: String): SignInState {
    val methods = flow.start(email)
    flow.chooseMethod(methods.method(MethodKind.PASSWORD))
    var state = flow.submitPassword(password)
    if (state is SignInState.EnterCode) state = flow.submitCode(TestServer.lastCode(email))
    return state
}

inline fun <reified E : Throwable> assertThrowsSuspend(block: () -> Unit): E {
    try {
        block()
    } catch (e: Throwable) {
        if (e is E) return e
        throw e
    }
    fail("expected ${E::class.simpleName}")
    error("unreachable")
}
