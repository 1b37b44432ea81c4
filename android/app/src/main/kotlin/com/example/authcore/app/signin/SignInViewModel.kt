package com.example.authcore.app.signin

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import com.example.authcore.AuthClient
import com.example.authcore.ClientException
import com.example.authcore.Session
import com.example.authcore.core.SecondFactor
import com.example.authcore.SignInFlow
import com.example.authcore.core.SignInMethod
import com.example.authcore.SignInState
import com.example.authcore.streams.stateFlow
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.combine
import kotlinx.coroutines.flow.stateIn
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/**
 * Holds one [SignInFlow], observed through the library's [stateFlow]; each gesture is one call.
 * At start the session an earlier sign-in saved (`savedSession()`, read off the main thread: it
 * decrypts the store) is shown as `Done` instead of the sign-in. The error of the last gesture
 * (already a sentence, see [errorText]) is in [error]; the screen stays as it was.
 */
class SignInViewModel(private val client: AuthClient) : ViewModel() {
    private val flow: SignInFlow = client.signIn()
    private val restored = MutableStateFlow<Session?>(null)
    private val _error = MutableStateFlow<String?>(null)
    private val _busy = MutableStateFlow(true)
    private var waiting: Job? = null

    /** The flow's screen, or `Done` with the restored session while the flow has not started. */
    val state: StateFlow<SignInState> = combine(flow.stateFlow(), restored) { state, saved ->
        if (saved != null && state is SignInState.EnterIdentifier) SignInState.Done(saved) else state
    }.stateIn(viewModelScope, SharingStarted.Eagerly, flow.state())
    val error: StateFlow<String?> = _error.asStateFlow()
    val busy: StateFlow<Boolean> = _busy.asStateFlow()

    init {
        viewModelScope.launch {
            try {
                restored.value = withContext(Dispatchers.IO) { client.savedSession() }
            } catch (e: ClientException) {
                _error.value = errorText(e) // the store is unreadable: sign in again
            } finally {
                _busy.value = false
            }
        }
    }

    fun start(identifier: String) = gesture { it.start(identifier) }
    fun chooseMethod(method: SignInMethod) = gesture { it.chooseMethod(method) }
    fun submitPassword(password: String) = gesture { it.submitPassword(password) }
    fun submitCode(code: String) = gesture { it.submitCode(code) }
    fun resendCode() = gesture { it.resendCode() }
    fun chooseSecondFactor(factor: SecondFactor) = gesture { it.chooseSecondFactor(factor) }
    fun resendPush() = gesture { it.resendPush() }
    fun skipEnrollment() = gesture { it.skipEnrollment() }
    fun enrollAuthenticator() = gesture { it.enrollAuthenticator() }
    fun forgotPassword(identifier: String) = gesture { it.forgotPassword(identifier) }
    fun chooseNewPassword(password: String) = gesture { it.chooseNewPassword(password) }
    fun back() = gesture { it.back() }
    fun cancel() = gesture { it.cancel() }

    /**
     * While a phone screen (ApprovePush, ActivateAuthenticator, ApproveTestPush) is shown: wait for
     * the phone; the new state arrives through [state]. [stopWaiting] (the screen left) cancels
     * the call, which changes nothing in the flow.
     */
    fun startWaiting() {
        if (waiting?.isActive == true) return
        waiting = viewModelScope.launch {
            try {
                flow.waitForPhone()
            } catch (e: ClientException) {
                _error.value = errorText(e)
            }
        }
    }

    fun stopWaiting() {
        waiting?.cancel()
    }

    /** Gestures run one at a time: a running wait for the phone is cancelled first. */
    private fun gesture(action: suspend (SignInFlow) -> SignInState) {
        viewModelScope.launch {
            waiting?.cancelAndJoin()
            _busy.value = true
            _error.value = null
            try {
                action(flow) // its answer also reaches [state] through the flow's listener
            } catch (e: ClientException) {
                _error.value = errorText(e)
            } finally {
                _busy.value = false
            }
        }
    }

    override fun onCleared() {
        flow.close()
    }
}
