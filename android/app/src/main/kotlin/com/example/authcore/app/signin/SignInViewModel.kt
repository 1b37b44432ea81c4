package com.example.authcore.app.signin

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import com.example.authcore.AuthClient
import com.example.authcore.ClientException
import com.example.authcore.core.SecondFactor
import com.example.authcore.SignInFlow
import com.example.authcore.SignInListener
import com.example.authcore.core.SignInMethod
import com.example.authcore.SignInState
import kotlinx.coroutines.Job
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch

/**
 * Holds one [SignInFlow]: its listener feeds [state]; each gesture is one call. The error of the
 * last gesture (already a sentence, see [errorText]) is in [error]; the screen stays as it was.
 */
class SignInViewModel(client: AuthClient) : ViewModel() {
    private val flow: SignInFlow = client.signIn()
    private val _state = MutableStateFlow(flow.state())
    private val _error = MutableStateFlow<String?>(null)
    private val _busy = MutableStateFlow(false)
    private var waiting: Job? = null

    val state: StateFlow<SignInState> = _state.asStateFlow()
    val error: StateFlow<String?> = _error.asStateFlow()
    val busy: StateFlow<Boolean> = _busy.asStateFlow()

    init {
        // Called on an authcore runtime thread: a StateFlow takes values from any thread.
        flow.setListener(object : SignInListener {
            override fun onStateChanged(state: SignInState) {
                _state.value = state
            }
        })
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
     * the phone. [stopWaiting] (the screen left) cancels the call, which changes nothing in the flow.
     */
    fun startWaiting() {
        if (waiting?.isActive == true) return
        waiting = viewModelScope.launch {
            try {
                _state.value = flow.waitForPhone()
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
                _state.value = action(flow)
            } catch (e: ClientException) {
                _error.value = errorText(e)
            } finally {
                _busy.value = false
            }
        }
    }

    override fun onCleared() {
        flow.setListener(null)
        flow.close()
    }
}
