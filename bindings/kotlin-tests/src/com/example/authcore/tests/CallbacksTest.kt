package com.example.authcore.tests

import com.example.authcore.LogLevel
import com.example.authcore.LogRecord
import com.example.authcore.Logger
import com.example.authcore.SignInListener
import com.example.authcore.SignInState
import com.example.authcore.core.MethodKind
import com.example.authcore.initLogger
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * The app's callbacks throw (a bug in the app, a closed UI): authcore goes on instead of panicking
 * into an InternalException. A throwing listener or logger is ignored; a throwing biometric prompt
 * counts as "not verified" (PhoneApprovalTest).
 */
class CallbacksTest {
    @Test
    fun `a listener that throws does not stop the sign-in`() = runBlocking {
        val calls = AtomicInteger()
        val flow = TestServer.newDevice().signIn()
        flow.setListener(object : SignInListener {
            override fun onStateChanged(state: SignInState) {
                calls.incrementAndGet()
                throw IllegalStateException("the screen is gone")
            }
        })
        val methods = flow.start("bob@acme.example").expect<SignInState.ChooseMethod>()
        val code = flow.chooseMethod(methods.method(MethodKind.EMAIL_CODE)).expect<SignInState.EnterCode>()
        assertEquals(6u, code.length)
        assertEquals(2, calls.get())
        flow.cancel()
        Unit
    }

    @Test
    fun `a logger that throws loses its records and nothing else`() = runBlocking {
        val calls = AtomicInteger()
        initLogger(object : Logger {
            override fun log(record: LogRecord) {
                calls.incrementAndGet()
                throw RuntimeException("logcat is full")
            }
        }, LogLevel.DEBUG)
        try {
            val flow = TestServer.newDevice().signIn()
            flow.setListener(ScreenRecorder()) // its state changes are logged at debug
            flow.start("bob@acme.example").expect<SignInState.ChooseMethod>()
            assertTrue("the logger was called", calls.get() > 0)
        } finally {
            initLogger(object : Logger {
                override fun log(record: LogRecord) {}
            }, LogLevel.ERROR)
        }
    }
}
