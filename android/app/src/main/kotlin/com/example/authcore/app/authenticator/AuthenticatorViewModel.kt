package com.example.authcore.app.authenticator

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import com.example.authcore.Account
import com.example.authcore.Authenticator
import com.example.authcore.AuthenticatorException
import com.example.authcore.core.AccountCode
import com.example.authcore.core.ApprovalRequest
import com.example.authcore.streams.approvalRequests
import java.time.Instant
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.stateIn
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/**
 * The authenticator's list, codes and pending requests; one core call per gesture. Requests come
 * from the library's [approvalRequests] stream (the server's long-poll) while the view model
 * lives, alongside FCM.
 */
class AuthenticatorViewModel(private val authenticator: Authenticator) : ViewModel() {
    private val _accounts = MutableStateFlow(emptyList<Account>())
    private val _requests = MutableStateFlow<List<ApprovalRequest>>(emptyList())
    private val _error = MutableStateFlow<String?>(null)
    private val _busy = MutableStateFlow(false)
    private val _listening = MutableStateFlow(true)
    private var approvals: Job? = null

    val accounts: StateFlow<List<Account>> = _accounts.asStateFlow()
    val requests: StateFlow<List<ApprovalRequest>> = _requests.asStateFlow()
    val error: StateFlow<String?> = _error.asStateFlow()
    val busy: StateFlow<Boolean> = _busy.asStateFlow()

    /** False after a permanent error ended the approvals stream: the list offers "Try again". */
    val listening: StateFlow<Boolean> = _listening.asStateFlow()

    /** Every TOTP code with its seconds left, recomputed by the core at each second boundary. */
    val codes: StateFlow<Map<String, AccountCode>> = flow {
        while (true) {
            val now = Instant.now()
            emit(authenticator.codes(now).associateBy { it.id })
            delay(1_000 - now.toEpochMilli() % 1_000)
        }
    }.stateIn(viewModelScope, SharingStarted.WhileSubscribed(5_000), emptyMap())

    init {
        viewModelScope.launch { _accounts.value = withContext(Dispatchers.IO) { authenticator.accounts() } }
        listen()
    }

    /** Collects the approvals stream; a permanent error (e.g. "this app must be updated") ends it. */
    fun listen() {
        if (approvals?.isActive == true) return
        _listening.value = true
        approvals = viewModelScope.launch {
            try {
                authenticator.approvalRequests().collect { request -> _requests.update { live(it) + request } }
            } catch (e: AuthenticatorException) {
                _error.value = authenticatorErrorText(e)
                _listening.value = false
            }
        }
    }

    fun scanned(payload: String, onDone: () -> Unit) = action(onDone) { authenticator.addFromQr(payload) }

    fun activateManually(activationCode: String, serverUrl: String, onDone: () -> Unit) =
        action(onDone) { authenticator.activateManually(activationCode, serverUrl) }

    /** The core runs UserVerification (BiometricPrompt) before it signs; nothing is sent without it. */
    fun approve(request: ApprovalRequest, number: String, onDone: () -> Unit) =
        action(onDone, answered = request) { authenticator.approve(request.id, number) }

    fun deny(request: ApprovalRequest, onDone: () -> Unit) =
        action(onDone, answered = request) { authenticator.deny(request.id) }

    fun reportFraud(request: ApprovalRequest, onDone: () -> Unit) =
        action(onDone, answered = request) { authenticator.reportFraud(request.id) }

    fun nextHotpCode(id: String, onCode: (String) -> Unit) {
        try {
            onCode(authenticator.nextHotpCode(id))
        } catch (e: AuthenticatorException) {
            _error.value = authenticatorErrorText(e)
        }
    }

    /** A request named by a notification (FCM data: request_id): known already, or fetched now. */
    fun open(requestId: String, onFound: (ApprovalRequest?) -> Unit) {
        _requests.value.firstOrNull { it.id == requestId }?.let { return onFound(it) }
        viewModelScope.launch {
            val found = try {
                authenticator.pendingApprovals(0u).firstOrNull { it.id == requestId }
            } catch (e: AuthenticatorException) {
                _error.value = authenticatorErrorText(e)
                null
            }
            found?.let { request -> _requests.update { list -> live(list).filterNot { it.id == request.id } + request } }
            onFound(found)
        }
    }

    fun clearError() {
        _error.value = null
    }

    /** The requests whose time is not up (the stream emits each once; expiry is on the phone). */
    private fun live(requests: List<ApprovalRequest>): List<ApprovalRequest> {
        val now = Instant.now()
        return requests.filter { it.expiresAt.isAfter(now) }
    }

    private fun action(onDone: () -> Unit, answered: ApprovalRequest? = null, call: suspend () -> Any?) {
        viewModelScope.launch {
            _busy.value = true
            _error.value = null
            try {
                call()
                _accounts.value = authenticator.accounts()
                if (answered != null) _requests.update { list -> live(list).filterNot { it.id == answered.id } }
                onDone()
            } catch (e: AuthenticatorException) {
                _error.value = authenticatorErrorText(e)
            } finally {
                _busy.value = false
            }
        }
    }
}
