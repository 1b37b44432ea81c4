package com.example.authcore.app.authenticator

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import com.example.authcore.Account
import com.example.authcore.core.AccountCode
import com.example.authcore.core.ApprovalRequest
import com.example.authcore.Authenticator
import com.example.authcore.AuthenticatorException
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.stateIn
import kotlinx.coroutines.isActive
import kotlinx.coroutines.launch

/** The authenticator's list, codes and pending requests; one core call per gesture. */
class AuthenticatorViewModel(private val authenticator: Authenticator) : ViewModel() {
    private val _accounts = MutableStateFlow(authenticator.accounts())
    private val _requests = MutableStateFlow<List<ApprovalRequest>>(emptyList())
    private val _error = MutableStateFlow<String?>(null)
    private val _busy = MutableStateFlow(false)

    val accounts: StateFlow<List<Account>> = _accounts.asStateFlow()
    val requests: StateFlow<List<ApprovalRequest>> = _requests.asStateFlow()
    val error: StateFlow<String?> = _error.asStateFlow()
    val busy: StateFlow<Boolean> = _busy.asStateFlow()

    /** Every TOTP code with its seconds left, recomputed by the core at each second boundary. */
    val codes: StateFlow<Map<String, AccountCode>> = flow {
        while (true) {
            val nowMillis = System.currentTimeMillis()
            emit(authenticator.codes((nowMillis / 1000).toULong()).associateBy { it.id })
            delay(1_000 - nowMillis % 1_000)
        }
    }.stateIn(viewModelScope, SharingStarted.WhileSubscribed(5_000), emptyMap())

    init {
        // Without FCM (or alongside it): long-poll for requests while the app is open.
        viewModelScope.launch {
            while (isActive) {
                try {
                    _requests.value = authenticator.pendingApprovals(30u)
                    if (_requests.value.isNotEmpty()) delay(2_000)
                } catch (e: AuthenticatorException) {
                    delay(10_000)
                }
            }
        }
    }

    fun scanned(payload: String, onDone: () -> Unit) = action(onDone) { authenticator.addFromQr(payload) }

    fun activateManually(activationCode: String, serverUrl: String, onDone: () -> Unit) =
        action(onDone) { authenticator.activateManually(activationCode, serverUrl) }

    /** The core runs UserVerification (BiometricPrompt) before it signs; nothing is sent without it. */
    fun approve(request: ApprovalRequest, number: String, onDone: () -> Unit) =
        action(onDone) { authenticator.approve(request.id, number) }

    fun deny(request: ApprovalRequest, onDone: () -> Unit) = action(onDone) { authenticator.deny(request.id) }

    fun reportFraud(request: ApprovalRequest, onDone: () -> Unit) = action(onDone) { authenticator.reportFraud(request.id) }

    fun nextHotpCode(id: String, onCode: (String) -> Unit) {
        try {
            onCode(authenticator.nextHotpCode(id))
        } catch (e: AuthenticatorException) {
            _error.value = authenticatorErrorText(e)
        }
    }

    /** A request named by a notification (FCM data: request_id): from the pending list, fetched now. */
    fun open(requestId: String, onFound: (ApprovalRequest?) -> Unit) {
        viewModelScope.launch {
            val found = try {
                authenticator.pendingApprovals(0u).also { _requests.value = it }.firstOrNull { it.id == requestId }
            } catch (e: AuthenticatorException) {
                _error.value = authenticatorErrorText(e)
                null
            }
            onFound(found)
        }
    }

    fun clearError() {
        _error.value = null
    }

    private fun action(onDone: () -> Unit, call: suspend () -> Any?) {
        viewModelScope.launch {
            _busy.value = true
            _error.value = null
            try {
                call()
                _accounts.value = authenticator.accounts()
                _requests.value = authenticator.pendingApprovals(0u)
                onDone()
            } catch (e: AuthenticatorException) {
                _error.value = authenticatorErrorText(e)
            } finally {
                _busy.value = false
            }
        }
    }
}
